package projectvm

// Every host path a Lima document names, in one table. Lima resolves these
// paths itself, and again at every start (mounts, sockets) or create (files
// it reads or copies): a symbolic link in the project that changes in
// between (by a pull, or by the guest through the writable project mount,
// where a link the guest makes is a real link on the host) would change
// what Lima opens after the user judged it. So vmhook resolves each path
// when it writes the config and writes it resolved; reads the files Lima
// would copy into the instance itself, without following links, and hands
// Lima their content; and before every create and start checks that each
// path in the document Lima is about to read still resolves to itself.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// hostPathKind says how Lima uses a host path.
type hostPathKind int

const (
	// pathMount is a directory Lima shares with the guest at every start.
	pathMount hostPathKind = iota
	// pathConnect is a host socket Lima connects to at every start (a
	// reverse socket forward: a host server reached from the guest).
	pathConnect
	// pathListen is where Lima creates a socket at every start (a guest
	// server reached from the host).
	pathListen
	// pathRead is a file Lima reads when it creates the VM: an image, a
	// kernel, a containerd archive, a base template.
	pathRead
	// pathInline is a file Lima would copy into the instance at create (a
	// provision or probe script, a CA certificate): vmhook reads it itself
	// and hands Lima its content.
	pathInline
	// pathWrite is where Lima writes a file on the host (copyToHost).
	pathWrite
)

// hostPath is one host path in a Lima document: where it is (field, as
// people read it: "mounts[2].location"), how Lima uses it, its value, and
// how to replace it.
type hostPath struct {
	field string
	kind  hostPathKind
	value string
	// set replaces the path (resolve writes the resolved one).
	set func(string)
	// inline replaces the reference to a pathInline file by its content;
	// nil for the other kinds.
	inline func(content string)
	// what names the file in consent lines ("provision script").
	what string
}

// limaHostPaths lists the host paths of the Lima mapping m, in document
// order. A location that is a URL (https://, template://…) is no host path
// and is left out; file:// locations are paths. The returned setters change
// m in place.
func limaHostPaths(m map[string]any) []hostPath {
	var out []hostPath
	// ref adds the path held in v (a string, or a mapping with url or
	// location) at field; set stores a new value in v's place.
	ref := func(field string, kind hostPathKind, what string, v any, set func(any)) bool {
		value, _ := v.(string)
		put := func(s string) { set(s) }
		if mm, ok := v.(map[string]any); ok {
			for _, k := range []string{"url", "location"} {
				if s, ok := mm[k].(string); ok {
					value, put, field = s, func(s string) { mm[k] = s }, field+"."+k
					break
				}
			}
		}
		p, local := localFile(value)
		if value == "" || !local {
			return false
		}
		if value != p { // file://PATH stays a file:// location
			plain := put
			put = func(s string) { plain("file://" + s) }
		}
		out = append(out, hostPath{field: field, kind: kind, value: p, set: put, what: what})
		return true
	}
	// key is ref for the value of key in the mapping holder.
	key := func(field string, kind hostPathKind, what string, holder map[string]any, k string) bool {
		return ref(field, kind, what, holder[k], func(v any) { holder[k] = v })
	}
	for i, mt := range mapItems(m["mounts"]) {
		key(fmt.Sprintf("mounts[%d].location", i), pathMount, "mount", mt, "location")
	}
	for i, pf := range mapItems(m["portForwards"]) {
		if ignore, _ := pf["ignore"].(bool); ignore {
			continue
		}
		kind := pathListen
		if rev, _ := pf["reverse"].(bool); rev {
			kind = pathConnect
		}
		key(fmt.Sprintf("portForwards[%d].hostSocket", i), kind, "socket", pf, "hostSocket")
	}
	for i, im := range mapItems(m["images"]) {
		for _, k := range []string{"location", "kernel", "initrd"} {
			key(fmt.Sprintf("images[%d].%s", i, k), pathRead, "image file", im, k)
		}
	}
	if fw, ok := m["firmware"].(map[string]any); ok {
		for i, im := range mapItems(fw["images"]) {
			key(fmt.Sprintf("firmware.images[%d].location", i), pathRead, "firmware file", im, "location")
		}
	}
	if cd, ok := m["containerd"].(map[string]any); ok {
		for i, a := range mapItems(cd["archives"]) {
			key(fmt.Sprintf("containerd.archives[%d].location", i), pathRead, "containerd archive", a, "location")
		}
	}
	// base (Lima v2): one template, or a list of them, read at create.
	if list, ok := m["base"].([]any); ok {
		for i := range list {
			ref(fmt.Sprintf("base[%d]", i), pathRead, "base template", list[i], func(v any) { list[i] = v })
		}
	} else {
		key("base", pathRead, "base template", m, "base")
	}
	for i, cp := range mapItems(m["copyToHost"]) {
		key(fmt.Sprintf("copyToHost[%d].host", i), pathWrite, "copy", cp, "host")
	}
	// Files Lima copies into the instance: their content takes their place
	// (as Lima v2 itself embeds them at create).
	inlineKey := map[string]string{"data": "content", "yq": "expression"}
	for _, list := range []string{"provision", "probes"} {
		for i, pr := range mapItems(m[list]) {
			if !key(fmt.Sprintf("%s[%d].file", list, i), pathInline, strings.TrimSuffix(list, "s")+" script", pr, "file") {
				continue
			}
			k := "script"
			if list == "provision" {
				if ik, ok := inlineKey[asString(pr["mode"])]; ok {
					k = ik
				}
			}
			entry := pr
			out[len(out)-1].inline = func(content string) {
				delete(entry, "file")
				entry[k] = content
			}
		}
	}
	if ca, ok := m["caCerts"].(map[string]any); ok {
		files, _ := ca["files"].([]any)
		for i := range files {
			if !ref(fmt.Sprintf("caCerts.files[%d]", i), pathInline, "CA certificate file", files[i], func(v any) { files[i] = v }) {
				continue
			}
			out[len(out)-1].inline = func(content string) {
				files[i] = nil // dropInlined removes it
				certs, _ := ca["certs"].([]any)
				ca["certs"] = append(certs, content)
			}
		}
	}
	return out
}

// dropInlined removes the entries inline left empty in caCerts.files.
func dropInlined(m map[string]any) {
	ca, ok := m["caCerts"].(map[string]any)
	if !ok {
		return
	}
	files, _ := ca["files"].([]any)
	kept := files[:0]
	for _, f := range files {
		if f != nil {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		delete(ca, "files")
	} else {
		ca["files"] = kept
	}
}

// HostPath is a host path of a project's settings as written and as
// resolved, for the consent lines ("through") and the inputs of the config:
// when a link is changed, the config is rendered and judged again.
type HostPath struct {
	Field    string `json:"field"`
	Written  string `json:"written"`
	Resolved string `json:"resolved"`
	// Inline marks a file whose content vmhook read and handed to Lima;
	// What names it in consent lines.
	Inline bool   `json:"inline,omitempty"`
	What   string `json:"what,omitempty"`
	// Hash is the SHA-256 of an inlined file's content.
	Hash string `json:"hash,omitempty"`
}

// maxInlineSize bounds a file vmhook reads to hand Lima its content.
const maxInlineSize = 1 << 20

// resolveHostPath is p with every symbolic link resolved, for how Lima
// uses it: a socket Lima creates, or a file it writes, is resolved up to
// its directory, and must not be a link itself (Lima would replace the
// link, or write through it).
func resolveHostPath(p string, kind hostPathKind) (string, error) {
	p = filepath.Clean(p)
	if kind != pathListen && kind != pathWrite {
		return realPath(p), nil
	}
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink(p)
		return "", fmt.Errorf("%q is a symbolic link (to %q), where Lima would create its file; name the place itself", p, target)
	}
	return filepath.Join(realPath(filepath.Dir(p)), filepath.Base(p)), nil
}

// readInline reads the file at the resolved path p for Lima, once, without
// following a link: what vmhook judged is what Lima gets. It must be a
// regular file of at most maxInlineSize bytes, and is never blocked on (a
// FIFO or device is refused).
func readInline(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%q became a symbolic link while vmhook read it; run the command again", p)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInlineSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInlineSize {
		return nil, fmt.Errorf("%q is larger than 1 MiB, the most vmhook hands Lima as a script", p)
	}
	return data, nil
}

// LinkChangedError says that a host path in the document Lima is about to
// read no longer resolves to itself: a link changed since vmhook judged
// it, and vmhook does not let Lima follow it.
type LinkChangedError struct {
	Name, Field, Path, Now, Doc string
}

func (e *LinkChangedError) Error() string {
	now := "through a link to " + shown(e.Now)
	return printable(fmt.Sprintf("%s: %s %s in %s now leads %s, which vmhook did not judge; it will not let Lima follow it. Remove the link, or run vmhook up --apply to judge and use what it points at now",
		e.Name, e.Field, shown(e.Path), e.Doc, now))
}

// verifyHostPaths checks, right before Lima reads the document doc (the
// config at create, the instance's copy at start), that each host path it
// names is absolute and still resolves to itself: no part of it became a
// symbolic link since vmhook wrote it. home expands a leading ~, as Lima
// does, in a document written by hand.
func verifyHostPaths(name, docName string, doc []byte, home string) error {
	m, err := decodeLima(doc)
	if err != nil || m == nil {
		return nil // Lima reports what it cannot read
	}
	for _, hp := range limaHostPaths(m) {
		p := expandHome(home, hp.value)
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%s: %s %q in %s is a relative path; write it absolute", name, hp.field, hp.value, docName)
		}
		now, err := resolveHostPath(p, hp.kind)
		if err != nil {
			return fmt.Errorf("%s: %s in %s: %w", name, hp.field, docName, err)
		}
		if now != filepath.Clean(p) {
			return &LinkChangedError{Name: name, Field: hp.field, Path: p, Now: now, Doc: docName}
		}
	}
	return nil
}

// decodeLima reads a Lima document as a mapping; nil for an empty one.
func decodeLima(doc []byte) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	return m, nil
}
