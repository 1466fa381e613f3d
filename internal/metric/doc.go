// Package metric holds the shared definitions of DESIGN.md §5: the period a
// figure is measured over, the dashboard filter, the statistics (quantiles,
// rates, days), the figures object the API, pages, CSV export and digest all
// show, the scorecard rows and the previous-period deltas.
//
// The store's SQL counts; this package turns the counts into figures. Every
// rate, share, coverage and velocity is computed here and nowhere else
// ([Figures.Derive]), so the dashboard, the API, the CSV and the digest agree
// to the last digit: they are different renderings of one Figures value.
//
// The package is pure: no I/O, no clock (callers pass now), no database.
package metric
