package projectvm

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// maxLimaNodes bounds the values a lima: block may expand to, aliases
// included, so an alias bomb costs no more than a large file.
const maxLimaNodes = 200000

// limaMapping converts the lima: block to plain values. It walks the nodes
// itself: the YAML library's check for repeated keys is quadratic in their
// number (checkTree has refused repeated keys already).
func limaMapping(v *yaml.Node) (map[string]any, error) {
	budget := maxLimaNodes
	out, err := limaValue(v, &budget)
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	return m, nil
}

func limaValue(n *yaml.Node, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, &SettingsError{Line: n.Line, Msg: fmt.Sprintf("expands to more than %d values", maxLimaNodes)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return limaValue(n.Alias, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, &SettingsError{Line: k.Line, Msg: "keys must be plain names"}
			}
			if k.ShortTag() == "!!merge" {
				return nil, &SettingsError{Line: k.Line, Msg: "merge keys (<<) are not supported; write the keys out"}
			}
			v, err := limaValue(n.Content[i+1], budget)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := limaValue(c, budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &SettingsError{Line: n.Line, Msg: cleanYAMLError(err)}
		}
		return v, nil
	}
	return nil, &SettingsError{Line: n.Line, Msg: "is not a YAML value"}
}
