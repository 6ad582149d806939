package core

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/procreg/procreg"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaCache holds compiled payload schemas by the SHA-256 of their
// canonical JSON, so identical schemas across registrations compile once.
var schemaCache = newLRU[string, *jsonschema.Schema](4096)

// noLoader refuses every external reference: a payload schema is
// self-contained and must never read files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema reference %q is not allowed", url)
}

const schemaURL = "urn:procreg:payload-schema"

// compileSchema compiles a canonical payload schema (draft 2020-12 unless it
// names another dialect), validating it against its meta-schema.
func compileSchema(canonical []byte) (s *jsonschema.Schema, err error) {
	defer recoverInvalid("compiling the payload schema", &err)
	key := sha256Hex(canonical)
	if s, ok := schemaCache.get(key); ok {
		return s, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(canonical))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	s, err = c.Compile(schemaURL)
	if err != nil {
		return nil, err
	}
	schemaCache.put(key, s)
	return s, nil
}

// validatePayload checks a decoded payload (numbers as json.Number, as
// jsonschema.UnmarshalJSON would decode them) against a compiled schema.
func validatePayload(s *jsonschema.Schema, doc any) (err error) {
	defer recoverInvalid("validating the payload", &err)
	if err := s.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return errors.New(ve.Error())
		}
		return err
	}
	return nil
}

// recoverInvalid turns a panic of the schema library into an ErrInvalid
// error in *err. It is a second line of defence: CheckNumbers already
// keeps out the numbers known to make v6 panic (a big.Rat it cannot build
// from a huge exponent), and a panic must not unwind through a storage
// transaction or take the host process down.
func recoverInvalid(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: JSON Schema library failed while %s: %v", procreg.ErrInvalid, what, r)
	}
}
