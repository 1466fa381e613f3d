package demo

// The word lists the generator draws people, companies and signals from.
// Everything is ASCII so that emails need no transliteration.

var firstNames = []string{
	"Ada", "Adrian", "Aisha", "Alba", "Alex", "Alice", "Amara", "Amelie", "Ana", "Andrea",
	"Anna", "Anton", "Arjun", "Astrid", "Aylin", "Ben", "Bianca", "Boris", "Camille", "Carla",
	"Carlos", "Chen", "Chloe", "Clara", "Daniel", "David", "Diego", "Dmitri", "Elena", "Elias",
	"Elif", "Ella", "Emil", "Emma", "Erik", "Eva", "Fatima", "Felix", "Finn", "Freya",
	"Gabriel", "Greta", "Hana", "Hannah", "Hugo", "Ian", "Ida", "Ines", "Isabel", "Ivan",
	"Jack", "Jakob", "James", "Jana", "Javier", "Jonas", "Julia", "Julien", "Kai", "Karin",
	"Karl", "Kenji", "Klara", "Lara", "Lea", "Leo", "Leon", "Lina", "Linnea", "Lisa",
	"Lotte", "Luca", "Lucas", "Luis", "Maja", "Malik", "Marco", "Maria", "Marie", "Marta",
	"Mateo", "Max", "Maya", "Mei", "Mia", "Milan", "Mira", "Nadia", "Nils", "Nina",
	"Noah", "Nora", "Olga", "Oliver", "Omar", "Oscar", "Paula", "Paulo", "Petra", "Pia",
	"Priya", "Rafael", "Rania", "Rasmus", "Ravi", "Rebecca", "Ruben", "Ruth", "Sara", "Sebastian",
	"Selin", "Sofia", "Sophie", "Stefan", "Sven", "Tara", "Theo", "Thomas", "Tobias", "Tom",
	"Tomas", "Ursula", "Valentina", "Vera", "Viktor", "Wei", "Will", "Yara", "Yusuf", "Zoe",
}

var lastNames = []string{
	"Abara", "Adler", "Alonso", "Andersen", "Bakker", "Becker", "Berg", "Bianchi", "Blom", "Brandt",
	"Brown", "Carvalho", "Castro", "Chen", "Costa", "Dahl", "Dubois", "Duarte", "Eriksen", "Evans",
	"Fischer", "Fontaine", "Garcia", "Gomez", "Graf", "Gruber", "Haas", "Hansen", "Hartmann", "Hoffmann",
	"Holm", "Horvat", "Huber", "Ivanova", "Jansen", "Jensen", "Kaya", "Keller", "Kim", "Klein",
	"Koch", "Kovac", "Kowalski", "Kruger", "Lambert", "Larsen", "Laurent", "Lehmann", "Lewis", "Lindberg",
	"Lopez", "Lorenz", "Mahler", "Marino", "Martin", "Meyer", "Moller", "Morales", "Moreau", "Murphy",
	"Nagy", "Nakamura", "Navarro", "Nielsen", "Novak", "Nowak", "Okafor", "Olsen", "Ortiz", "Park",
	"Peeters", "Petrov", "Pereira", "Quinn", "Ramos", "Reyes", "Richter", "Rossi", "Russo", "Sato",
	"Schmid", "Schneider", "Schulz", "Silva", "Smith", "Sorensen", "Stein", "Suzuki", "Svensson", "Tanaka",
	"Taylor", "Thomsen", "Torres", "Vogel", "Wagner", "Walsh", "Weber", "Werner", "Wolf", "Wright",
	"Yilmaz", "Young", "Zhang", "Ziegler", "Zimmermann", "Aguilar", "Bauer", "Conti", "Doyle", "Engel",
	"Falk", "Ferrari", "Frank", "Gallo", "Hahn", "Ito", "Jovanovic", "Kaiser", "Lang", "Lund",
}

var companyPrefixes = []string{
	"Acorn", "Aether", "Alder", "Amber", "Anchor", "Apex", "Arbor", "Arrow", "Aspen", "Atlas",
	"Aurora", "Beacon", "Birch", "Blue Fjord", "Bluefin", "Bright", "Brook", "Cascade", "Cedar", "Cinder",
	"Cobalt", "Copper", "Coral", "Crest", "Delta", "Drift", "Ember", "Evergreen", "Falcon", "Fern",
	"Flint", "Fox", "Garnet", "Glacier", "Granite", "Harbor", "Hazel", "Helix", "Heron", "Horizon",
	"Indigo", "Iron", "Ivy", "Juniper", "Kestrel", "Keystone", "Lantern", "Larch", "Lumen", "Lynx",
	"Maple", "Meridian", "Mosaic", "Nimbus", "North", "Oak", "Onyx", "Orbit", "Osprey", "Pine",
	"Polar", "Prism", "Quartz", "Raven", "Ridge", "River", "Sable", "Sage", "Silver", "Slate",
	"Spruce", "Stellar", "Stone", "Summit", "Tidal", "Timber", "Umber", "Vale", "Vertex", "Willow",
}

var companySuffixes = []string{
	"Analytics", "Bio", "Capital", "Cloud", "Commerce", "Data", "Dynamics", "Energy", "Foods", "Freight",
	"Group", "Health", "Insurance", "Labs", "Logistics", "Media", "Mobility", "Networks", "Partners", "Retail",
	"Robotics", "Security", "Software", "Systems", "Works",
}

var titles = []string{
	"VP Marketing", "Head of Sales", "RevOps Manager", "CMO", "Marketing Operations Lead",
	"Sales Director", "CRO", "Demand Generation Manager", "Founder", "COO",
	"Head of Growth", "Sales Operations Analyst", "Director of Revenue Operations", "Account Executive", "CEO",
	"Head of Customer Success", "Marketing Manager", "VP Sales", "Business Analyst", "CFO",
}

// country is a lead's country with its weight and phone prefix.
type country struct {
	code   string
	weight float64
	phone  string
	tld    string
}

var countries = []country{
	{"DE", 22, "+49", "de"}, {"GB", 14, "+44", "co.uk"}, {"US", 15, "+1", "com"}, {"FR", 9, "+33", "fr"},
	{"NL", 7, "+31", "nl"}, {"SE", 5, "+46", "se"}, {"ES", 5, "+34", "es"}, {"IT", 4, "+39", "it"},
	{"PL", 4, "+48", "pl"}, {"AT", 4, "+43", "at"}, {"CH", 4, "+41", "ch"}, {"DK", 3, "+45", "dk"},
	{"IE", 2, "+353", "ie"}, {"BE", 2, "+32", "be"},
}

// pageURLs are pages of the tenant's website a lead may view before a
// handoff; pricingURLs are the intent signals.
var (
	pageURLs = []string{
		"/", "/product", "/product/sla-engine", "/product/dashboards", "/customers", "/blog/marketing-sales-sla",
		"/blog/lead-scoring-that-sales-trusts", "/blog/speed-to-lead", "/case-studies/northwind", "/integrations/hubspot",
		"/integrations/salesforce", "/security", "/about",
	}
	pricingURLs = []string{"/pricing", "/pricing", "/pricing/enterprise", "/pricing/compare"}
)

var touchNotes = map[string][]string{
	"call":     {"Left a voicemail", "Short intro call; asked for a demo next week", "No answer", "Discovery call: 40 minutes, good fit", "Gatekeeper; call back Thursday"},
	"email":    {"Intro email with the one-pager", "Follow-up after the webinar", "Sent pricing overview", "Shared the customer story", "Bump: any questions?"},
	"meeting":  {"Demo with the RevOps team", "Technical deep dive with IT", "Pricing discussion with the CFO", "Kick-off of the evaluation"},
	"linkedin": {"Connection request accepted", "InMail about the SLA dashboard", "Commented on their post about pipeline reviews"},
}

var leadNotes = []string{
	"Uses HubSpot today; the contract renews in Q1.",
	"Budget is approved for next quarter.",
	"Wants to see the SLA engine with their own calendar.",
	"Champion is the RevOps lead; the CMO signs.",
	"Comparing us with two other vendors.",
	"Asked for a security questionnaire.",
	"Interested in dashboards for the board meeting.",
}

var pauseReasons = []string{
	"Prospect asked for a call back next week",
	"Out of office until the end of the month",
	"Waiting for the budget decision",
	"Travelling to a trade show; follow up after",
}

var nurtureNotes = []string{
	"Enrolled in the monthly newsletter",
	"Enrolled in the SLA best-practice nurture track",
	"Enrolled in the product-update nurture",
}
