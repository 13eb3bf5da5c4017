package projectvm

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// expandedSize is the size of the YAML tree n as its aliases expand it: a
// byte per node plus the bytes of every scalar, counted up to limit+1. Each
// anchored node is measured once, so a small file of aliases costs no more
// to measure than its own size.
func expandedSize(n *yaml.Node, limit int64) int64 {
	memo := map[*yaml.Node]int64{}
	var size func(n *yaml.Node, depth int) int64
	size = func(n *yaml.Node, depth int) int64 {
		if n == nil {
			return 0
		}
		if s, ok := memo[n]; ok {
			return s
		}
		if depth > 10000 {
			return limit + 1 // a cycle, which the parser should not make
		}
		total := int64(1 + len(n.Value))
		if n.Kind == yaml.AliasNode {
			total += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			total += size(c, depth+1)
			if total > limit {
				total = limit + 1
				break
			}
		}
		total = min(total, limit+1)
		memo[n] = total
		return total
	}
	return size(n, 0)
}

// aliasBombError says that a file's aliases expand it past limit bytes.
func aliasBombError(path string, limit int64) error {
	return fmt.Errorf("%s expands to more than %d KiB through YAML aliases (*name); at most %d KiB is read, so write the values out or shorten them", path, limit>>10, limit>>10)
}

// checkExpandedYAML refuses the YAML document data when its aliases expand
// it past limit bytes. A document that does not parse is left to the
// caller.
func checkExpandedYAML(path string, data []byte, limit int64) error {
	if !bytes.Contains(data, []byte("*")) {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	if expandedSize(&doc, limit) > limit {
		return aliasBombError(path, limit)
	}
	return nil
}
