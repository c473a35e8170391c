package handlers_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// TestODataGeneratedClient: an OData client generator from npm (odata2ts, pinned in
// package-lock.json; make test installs it) generates a typed client from the $metadata of a
// running server; TypeScript compiles it with testdata/odata2ts/main.ts, which then runs against
// the server on each database: a filtered, expanded, ordered query with a count, a create,
// update, read and delete, and a $batch with a change set.
func TestODataGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the generated-client test (node and npm packages; make test runs it)")
	}
	root, _ := filepath.Abs("..")
	bin := filepath.Join(root, "node_modules", ".bin")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: it runs the generated client")
	}
	for _, tool := range []string{"odata2ts", "tsc"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("%s is not installed: run npm ci (make test does)", tool)
		}
	}
	servers := map[string]*server{}
	tokens := map[string]string{}
	for _, d := range storetest.Dialects {
		servers[d] = newServer(t, d, 12)
		tokens[d], _ = authtest.Token(t, servers[d].store, models.RoleManager, "read write", nil)
	}

	dir := t.TempDir()
	_, metadata := servers[storetest.Dialects[0]].client().get("/v1/odata/$metadata")
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("metadata.xml", metadata)
	main, err := os.ReadFile("testdata/odata2ts/main.ts")
	if err != nil {
		t.Fatal(err)
	}
	write("main.ts", string(main))
	write("tsconfig.json", `{"compilerOptions": {"target": "ES2022", "module": "commonjs", "moduleResolution": "node", "strict": true,
  "esModuleInterop": true, "skipLibCheck": true, "outDir": "build", "lib": ["ES2022", "DOM"]}, "include": ["gen/**/*.ts", "main.ts"]}`)
	// The properties $metadata marks Core.Computed are "managed" for odata2ts (which does not
	// read the annotation): left out of the editable models.
	var managed []string
	for _, name := range computedEverywhere(metadata) {
		managed = append(managed, fmt.Sprintf(`{name: %q, managed: true}`, name))
	}
	write("odata2ts.config.ts", `import { ConfigFileOptions, EmitModes, Modes } from "@odata2ts/odata2ts";
const config: ConfigFileOptions = {
  mode: Modes.all,
  emitMode: EmitModes.ts,
  services: { phaseboard: { source: "metadata.xml", output: "gen", propertiesByName: [`+strings.Join(managed, ", ")+`] } },
};
export default config;
`)
	if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
	}
	run(nil, filepath.Join(bin, "odata2ts"))
	run(nil, filepath.Join(bin, "tsc"), "-p", ".")
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			run([]string{"PB_URL=" + servers[d].URL, "PB_TOKEN=" + tokens[d]}, node, "build/main.js")
		})
	}
}

// computedEverywhere lists the property names that are Core.Computed wherever they are declared
// (odata2ts configures properties by name across types).
func computedEverywhere(metadata string) []string {
	props := regexp.MustCompile(`<Property Name="([^"]+)"[^>]*?(/>|><Annotation Term="([^"]+)")`).FindAllStringSubmatch(metadata, -1)
	computed, other := map[string]bool{}, map[string]bool{}
	for _, m := range props {
		if m[3] == "Core.Computed" {
			computed[m[1]] = true
		} else {
			other[m[1]] = true
		}
	}
	var out []string
	for name := range computed {
		if !other[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
