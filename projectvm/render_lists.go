package projectvm

import (
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"
)

// ownLists are the lists of a rendered config that raw lima: settings add
// to instead of replacing: vmhook's own entries there (the project mount,
// forwarded ports and sockets, the catch-all port rule) must survive.
var ownLists = []string{"mounts", "portForwards"}

// listNodes returns the value nodes of ownLists in the mapping doc.
func listNodes(doc *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if k := doc.Content[i].Value; slices.Contains(ownLists, k) {
			out[k] = doc.Content[i+1]
		}
	}
	return out
}

// keepOwnEntries puts vmhook's own entries back into the lists a raw lima:
// setting replaced in the merged mapping doc; own are the lists as rendered.
// Port rules from lima: come first and vmhook's last, ending with the
// catch-all, as Lima applies the first rule that matches; vmhook's mounts
// come first, as Lima merges a later mount of the same mount point into it.
// A raw entry equal to one of vmhook's is dropped, so a copy of the rendered
// list renders the same.
func keepOwnEntries(doc *yaml.Node, own map[string]*yaml.Node) {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key := doc.Content[i].Value
		mine, ok := own[key]
		raw := doc.Content[i+1]
		if !ok || raw == mine {
			continue
		}
		var extra []*yaml.Node
		if raw.Kind == yaml.SequenceNode {
			for _, it := range raw.Content {
				if !containsNode(mine.Content, it) {
					extra = append(extra, it)
				}
			}
		}
		merged := *mine
		if key == "portForwards" {
			merged.Content = append(extra, mine.Content...)
		} else {
			merged.Content = append(append([]*yaml.Node(nil), mine.Content...), extra...)
		}
		merged.Style = 0
		doc.Content[i+1] = &merged
	}
}

// containsNode reports whether list holds an entry with the same value as n.
func containsNode(list []*yaml.Node, n *yaml.Node) bool {
	var want any
	if n.Decode(&want) != nil {
		return false
	}
	want = normalize(want)
	for _, it := range list {
		var got any
		if it.Decode(&got) == nil && reflect.DeepEqual(normalize(got), want) {
			return true
		}
	}
	return false
}
