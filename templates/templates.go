// Package templates holds the files vmhook renders or copies: the Lima config
// template and the project scaffolds. It contains no logic beyond embedding.
package templates

import _ "embed"

// LimaConfig is the text/template source of a project's .lima/config.yaml.
//
//go:embed lima.yaml.tmpl
var LimaConfig string
