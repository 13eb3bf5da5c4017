package detect

import (
	"fmt"
	"strings"
)

// asdfNames maps .tool-versions' (asdf's) plugin names to mise's.
var asdfNames = map[string]string{"nodejs": "node", "golang": "go", "python": "python", "ruby": "ruby", "rust": "rust", "bun": "bun"}

func detectMise(d *Dir) (App, bool) {
	app := App{Stack: "mise", Dir: d.Rel}
	var why []string
	if data, ok := d.Read(".tool-versions"); ok {
		why = append(why, d.Path(".tool-versions"))
		for i, l := range strings.Split(string(data), "\n") {
			f := strings.Fields(strings.SplitN(l, "#", 2)[0])
			if len(f) < 2 || !versionLike.MatchString(f[1]) {
				continue
			}
			tool := f[0]
			if n, ok := asdfNames[tool]; ok {
				tool = n
			}
			app.Pins = append(app.Pins, Pin{Tool: clean(tool), Version: f[1], Source: fmt.Sprintf("%s line %d", d.Path(".tool-versions"), i+1), File: d.Path(".tool-versions")})
		}
	}
	for _, name := range []string{"mise.toml", ".mise.toml"} {
		data, ok := d.Read(name)
		if !ok {
			continue
		}
		why = append(why, d.Path(name))
		for tool, v := range tomlSections(data)["tools"] {
			if !versionLike.MatchString(v) {
				// An array or an inline table: its first string.
				a := tomlArray(v)
				if len(a) == 0 || !versionLike.MatchString(a[0]) {
					continue
				}
				v = a[0]
			}
			app.Pins = append(app.Pins, Pin{Tool: clean(strings.Trim(tool, `"`)), Version: v, Source: fmt.Sprintf("%s [tools]%s", d.Path(name), at(lineOf(data, "[tools]", tool))), File: d.Path(name)})
		}
	}
	if len(app.Pins) == 0 {
		return App{}, false
	}
	sortPins(app.Pins)
	app.Why = strings.Join(why, ", ")
	return app, true
}
