package loadgen

import (
	"fmt"
	"html"
	"strings"
)

// Chart geometry in SVG user units.
const (
	chartWidth      = 720
	chartLabelWidth = 220
	chartBarHeight  = 24
	chartBarGap     = 10
	chartTop        = 40
	chartValueRoom  = 110 // space right of the longest bar for its value
)

// barChart draws one horizontal bar per successful result of a workload,
// showing metric m. It reports false when no result has a value to draw.
// The SVG is written by hand so the report needs no dependencies.
func barChart(title string, m metric, results []Result) (string, bool) {
	type bar struct {
		label string
		value float64
	}
	var bars []bar
	var top float64
	for _, r := range results {
		if r.Status != StatusOK {
			continue
		}
		v := m.value(r)
		bars = append(bars, bar{label: r.System + " (" + r.Config.Protocol + ")", value: v})
		top = max(top, v)
	}
	if len(bars) == 0 || top <= 0 {
		return "", false
	}
	height := chartTop + len(bars)*(chartBarHeight+chartBarGap) + 20
	span := float64(chartWidth - chartLabelWidth - chartValueRoom)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	better := "higher is better"
	if !m.higherBetter {
		better = "lower is better"
	}
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s: %s (%s, %s)</text>`+"\n",
		html.EscapeString(title), html.EscapeString(m.label), html.EscapeString(m.unit), better)
	for i, br := range bars {
		y := chartTop + i*(chartBarHeight+chartBarGap)
		w := span * br.value / top
		fill := "#8a9bb0"
		if strings.HasPrefix(br.label, gannetSystem+" ") {
			fill = "#1f6feb"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
			chartLabelWidth-8, y+chartBarHeight*2/3, html.EscapeString(br.label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
			chartLabelWidth, y, max(w, 1), chartBarHeight, fill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n",
			float64(chartLabelWidth)+max(w, 1)+6, y+chartBarHeight*2/3, formatValue(br.value, m.unit))
	}
	b.WriteString("</svg>\n")
	return b.String(), true
}

func formatValue(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}
