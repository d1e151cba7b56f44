package strictjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The members handed out are what encoding/json decodes into a map of raw
// values, for every text the check accepts.
func TestCheckObjectMembersAgreeWithEncodingJSON(t *testing.T) {
	for _, text := range []string{
		`{}`,
		` {"action":"list_api_keys","timestamp":1764676800000} `,
		`{"a":{"b":[1,{"c":null}],"d":"x"},"e":-1.5e3,"f":true,"g":"caf\u00e9","h":[]}`,
		"{\n\t\"k\u00e9y\" : \"v\\n\" ,\"\\u00e9\":\"\\ud83d\\ude00\"}",
		`{"nested":{"action":"inner"},"action":"outer"}`,
	} {
		got := map[string]json.RawMessage{}
		if err := CheckObjectMembers([]byte(text), func(k string, v []byte) { got[k] = v }); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %q\nwant %q", text, got, want)
		}
	}
	if err := CheckObjectMembers([]byte(`{"a":1,"a":2}`), func(string, []byte) {}); err == nil || err.Reason != DuplicateKey {
		t.Fatalf("duplicate: %v", err)
	}
}
