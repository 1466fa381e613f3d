package lead

import (
	"strings"
	"sync"
)

// countryTable lists ISO 3166-1 codes with their English names and the
// other names CRMs export ("United States of America", "UK", "Deutschland"),
// one country a line: the code, then names separated by "|".
const countryTable = `
AD Andorra
AE United Arab Emirates|UAE|Emirates
AF Afghanistan
AG Antigua and Barbuda
AI Anguilla
AL Albania
AM Armenia
AO Angola
AQ Antarctica
AR Argentina
AS American Samoa
AT Austria|Österreich|Oesterreich
AU Australia
AW Aruba
AX Åland Islands|Aland Islands
AZ Azerbaijan
BA Bosnia and Herzegovina|Bosnia
BB Barbados
BD Bangladesh
BE Belgium|Belgique|België|Belgien
BF Burkina Faso
BG Bulgaria
BH Bahrain
BI Burundi
BJ Benin
BL Saint Barthélemy|Saint Barthelemy
BM Bermuda
BN Brunei|Brunei Darussalam
BO Bolivia|Bolivia, Plurinational State of
BQ Bonaire, Sint Eustatius and Saba|Caribbean Netherlands
BR Brazil|Brasil
BS Bahamas|The Bahamas
BT Bhutan
BV Bouvet Island
BW Botswana
BY Belarus
BZ Belize
CA Canada
CC Cocos (Keeling) Islands|Cocos Islands
CD Congo, Democratic Republic of the|Democratic Republic of the Congo|DR Congo|DRC|Congo (Kinshasa)
CF Central African Republic
CG Congo|Republic of the Congo|Congo (Brazzaville)
CH Switzerland|Schweiz|Suisse|Svizzera
CI Côte d'Ivoire|Cote d'Ivoire|Ivory Coast
CK Cook Islands
CL Chile
CM Cameroon
CN China|People's Republic of China|PRC
CO Colombia
CR Costa Rica
CU Cuba
CV Cabo Verde|Cape Verde
CW Curaçao|Curacao
CX Christmas Island
CY Cyprus
CZ Czechia|Czech Republic
DE Germany|Deutschland|Federal Republic of Germany
DJ Djibouti
DK Denmark|Danmark
DM Dominica
DO Dominican Republic
DZ Algeria
EC Ecuador
EE Estonia
EG Egypt
EH Western Sahara
ER Eritrea
ES Spain|España|Espana
ET Ethiopia
FI Finland|Suomi
FJ Fiji
FK Falkland Islands|Falkland Islands (Malvinas)
FM Micronesia|Micronesia, Federated States of
FO Faroe Islands
FR France
GA Gabon
GB United Kingdom|UK|U.K.|Great Britain|Britain|England|Scotland|Wales|Northern Ireland|United Kingdom of Great Britain and Northern Ireland
GD Grenada
GE Georgia
GF French Guiana
GG Guernsey
GH Ghana
GI Gibraltar
GL Greenland
GM Gambia|The Gambia
GN Guinea
GP Guadeloupe
GQ Equatorial Guinea
GR Greece|Hellas
GS South Georgia and the South Sandwich Islands
GT Guatemala
GU Guam
GW Guinea-Bissau
GY Guyana
HK Hong Kong
HM Heard Island and McDonald Islands
HN Honduras
HR Croatia|Hrvatska
HT Haiti
HU Hungary|Magyarország
ID Indonesia
IE Ireland|Republic of Ireland|Éire|Eire
IL Israel
IM Isle of Man
IN India
IO British Indian Ocean Territory
IQ Iraq
IR Iran|Iran, Islamic Republic of
IS Iceland
IT Italy|Italia
JE Jersey
JM Jamaica
JO Jordan
JP Japan
KE Kenya
KG Kyrgyzstan
KH Cambodia
KI Kiribati
KM Comoros
KN Saint Kitts and Nevis
KP North Korea|Korea, Democratic People's Republic of
KR South Korea|Korea|Korea, Republic of|Republic of Korea
KW Kuwait
KY Cayman Islands
KZ Kazakhstan
LA Laos|Lao People's Democratic Republic
LB Lebanon
LC Saint Lucia
LI Liechtenstein
LK Sri Lanka
LR Liberia
LS Lesotho
LT Lithuania
LU Luxembourg|Luxemburg
LV Latvia
LY Libya
MA Morocco
MC Monaco
MD Moldova|Moldova, Republic of
ME Montenegro
MF Saint Martin|Saint Martin (French part)
MG Madagascar
MH Marshall Islands
MK North Macedonia|Macedonia
ML Mali
MM Myanmar|Burma
MN Mongolia
MO Macao|Macau
MP Northern Mariana Islands
MQ Martinique
MR Mauritania
MS Montserrat
MT Malta
MU Mauritius
MV Maldives
MW Malawi
MX Mexico|México
MY Malaysia
MZ Mozambique
NA Namibia
NC New Caledonia
NE Niger
NF Norfolk Island
NG Nigeria
NI Nicaragua
NL Netherlands|The Netherlands|Holland|Nederland
NO Norway|Norge
NP Nepal
NR Nauru
NU Niue
NZ New Zealand
OM Oman
PA Panama
PE Peru
PF French Polynesia
PG Papua New Guinea
PH Philippines
PK Pakistan
PL Poland|Polska
PM Saint Pierre and Miquelon
PN Pitcairn
PR Puerto Rico
PS Palestine|Palestine, State of
PT Portugal
PW Palau
PY Paraguay
QA Qatar
RE Réunion|Reunion
RO Romania
RS Serbia
RU Russia|Russian Federation
RW Rwanda
SA Saudi Arabia
SB Solomon Islands
SC Seychelles
SD Sudan
SE Sweden|Sverige
SG Singapore
SH Saint Helena
SI Slovenia
SJ Svalbard and Jan Mayen
SK Slovakia|Slovak Republic
SL Sierra Leone
SM San Marino
SN Senegal
SO Somalia
SR Suriname
SS South Sudan
ST Sao Tome and Principe|São Tomé and Príncipe
SV El Salvador
SX Sint Maarten|Sint Maarten (Dutch part)
SY Syria|Syrian Arab Republic
SZ Eswatini|Swaziland
TC Turks and Caicos Islands
TD Chad
TF French Southern Territories
TG Togo
TH Thailand
TJ Tajikistan
TK Tokelau
TL Timor-Leste|East Timor
TM Turkmenistan
TN Tunisia
TO Tonga
TR Türkiye|Turkiye|Turkey
TT Trinidad and Tobago
TV Tuvalu
TW Taiwan
TZ Tanzania|Tanzania, United Republic of
UA Ukraine
UG Uganda
UM United States Minor Outlying Islands
US United States|United States of America|USA|U.S.A.|U.S.|America
UY Uruguay
UZ Uzbekistan
VA Holy See|Vatican|Vatican City
VC Saint Vincent and the Grenadines
VE Venezuela|Venezuela, Bolivarian Republic of
VG British Virgin Islands|Virgin Islands, British
VI U.S. Virgin Islands|Virgin Islands, U.S.
VN Vietnam|Viet Nam
VU Vanuatu
WF Wallis and Futuna
WS Samoa
XK Kosovo
YE Yemen
YT Mayotte
ZA South Africa
ZM Zambia
ZW Zimbabwe
`

// countries maps lower-case names, alpha-3 style aliases and codes to the
// two-letter code.
var countries = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(countryTable), "\n") {
		code, names, _ := strings.Cut(line, " ")
		m[strings.ToLower(code)] = code
		for _, n := range strings.Split(names, "|") {
			m[strings.ToLower(n)] = code
		}
	}
	// Three-letter codes that exports use most.
	for a3, code := range map[string]string{"usa": "US", "gbr": "GB", "deu": "DE", "fra": "FR", "esp": "ES", "ita": "IT",
		"nld": "NL", "che": "CH", "aut": "AT", "bel": "BE", "can": "CA", "aus": "AU", "ind": "IN", "bra": "BR", "mex": "MX",
		"jpn": "JP", "chn": "CN", "swe": "SE", "nor": "NO", "dnk": "DK", "fin": "FI", "pol": "PL", "irl": "IE", "prt": "PT"} {
		m[a3] = code
	}
	return m
})

// CountryCode turns a country cell into an ISO 3166-1 alpha-2 code: a code
// in any case, or a common English (or local) name. It reports false for
// what it does not know.
func CountryCode(s string) (string, bool) {
	key := strings.ToLower(strings.Join(strings.Fields(s), " "))
	if code, ok := countries()[key]; ok {
		return code, true
	}
	if len(key) == 2 && key[0] >= 'a' && key[0] <= 'z' && key[1] >= 'a' && key[1] <= 'z' {
		// A code not in the table (user-assigned, new): take it as given.
		return strings.ToUpper(key), true
	}
	return "", false
}
