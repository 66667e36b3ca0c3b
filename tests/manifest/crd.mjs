// Tests the NextApp CRD (container/crd/nextapp.yaml) without an API server: its OpenAPI schema
// (ajv) and every x-kubernetes-validations CEL rule (cel-js) are applied to the golden NextApps,
// which must pass, and to invalid ones, which must fail; the CEL digest rule must agree with the
// C library's image check (through the manifest CLI). Prints TAP.
// usage: node crd.mjs MANIFEST_CLI
import { readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import YAML from "yaml";
import { Environment } from "@marcbachmann/cel-js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = process.argv[2];
const crd = YAML.parse(readFileSync(join(here, "../../container/crd/nextapp.yaml"), "utf8"));
const digest = "0123456789abcdef".repeat(4);
let n = 0, failed = 0;
const ok = (cond, name, diag) => {
  n++;
  if (cond) console.log(`ok ${n} - ${name}`);
  else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    if (diag) for (const l of String(diag).split("\n")) console.log(`# ${l}`);
  }
};

// The CRD's shape.
const v = crd.spec.versions[0];
ok(crd.apiVersion === "apiextensions.k8s.io/v1" && crd.kind === "CustomResourceDefinition",
  "is an apiextensions.k8s.io/v1 CRD");
ok(crd.metadata.name === `${crd.spec.names.plural}.${crd.spec.group}` &&
  crd.spec.group === "knext.dev" && crd.spec.names.kind === "NextApp", "names knext.dev NextApp");
ok(v.name === "v1alpha1" && v.served && v.storage, "serves and stores v1alpha1");
ok(v.subresources && v.subresources.status && Object.keys(v.subresources.status).length === 0,
  "has the status subresource");
ok(v.additionalPrinterColumns.some((c) => c.jsonPath === ".status.conditions[?(@.type==\"Ready\")].status") &&
  v.additionalPrinterColumns.some((c) => c.jsonPath === ".status.url"), "printer columns: Ready, URL");

// Structural schema: every property has a type (or is int-or-string), like the API server wants.
const untyped = [];
(function walk(s, path) {
  if (!s || typeof s !== "object") return;
  if (!s.type && !s["x-kubernetes-int-or-string"]) untyped.push(path);
  for (const [k, c] of Object.entries(s.properties || {})) walk(c, `${path}.${k}`);
  if (s.items) walk(s.items, `${path}[]`);
})(v.schema.openAPIV3Schema, "");
ok(untyped.length === 0, "schema is structural (every node typed)", untyped.join(", "));

// CEL as the API server evaluates CRD rules, with Kubernetes' quantity library (quantity(),
// isGreaterThan(), compareTo()) over api/resource's quantity syntax.
class Quantity { constructor(v) { this.v = v; } }
const suffixes = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
// Exact decimal scaling (digits / 10^k), so "1" and "1000m" are the same quantity.
const pow10 = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
function quantity(s) {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(s);
  if (!m || !(m[2] + (m[3] || ""))) throw new Error(`invalid quantity ${s}`);
  const frac = m[3] || "";
  let v = Number(m[2] + frac) * (m[5] && m[5].endsWith("i") ? suffixes[m[5]] : 1);
  const e = (m[4] ? Number(m[4]) : pow10[m[5]] || 0) - frac.length;
  v = e < 0 ? v / 10 ** -e : v * 10 ** e;
  return new Quantity(m[1] === "-" ? -v : v);
}
const cel = new Environment({ unlistedVariablesAreDyn: true })
  .registerType("Quantity", Quantity)
  .registerFunction("quantity(string): Quantity", quantity)
  .registerFunction("Quantity.isGreaterThan(Quantity): bool", (a, b) => a.v > b.v)
  .registerFunction("Quantity.isLessThan(Quantity): bool", (a, b) => a.v < b.v)
  .registerFunction("Quantity.compareTo(Quantity): int", (a, b) => BigInt(Math.sign(a.v - b.v)));
const evaluate = (rule, ctx) => cel.evaluate(rule, ctx);

// Converts YAML numbers to CEL ints.
const toCel = (x) => Array.isArray(x) ? x.map(toCel)
  : x && typeof x === "object" ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, toCel(y)]))
  : Number.isInteger(x) ? BigInt(x) : x;

// Applies every CEL rule at its node; returns the failed rules' messages.
function celErrors(doc) {
  const errs = [];
  (function walk(s, val, path) {
    if (val === undefined || !s) return;
    for (const r of s["x-kubernetes-validations"] || []) {
      let res;
      try { res = evaluate(r.rule, { self: toCel(val) }); } catch (e) { res = `error: ${e.message}`; }
      if (res !== true) errs.push(`${path}: ${r.message} (${res})`);
    }
    if (s.properties && val && typeof val === "object")
      for (const [k, c] of Object.entries(s.properties)) walk(c, val[k], `${path}.${k}`);
    if (s.items && Array.isArray(val)) val.forEach((e, i) => walk(s.items, e, `${path}[${i}]`));
  })(v.schema.openAPIV3Schema, doc, "");
  return errs;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
const schema = JSON.parse(JSON.stringify(v.schema.openAPIV3Schema));
// The API server rejects unknown fields (kubectl's strict field validation): so does this test.
(function closed(s) {
  if (s.properties) { s.additionalProperties = false; Object.values(s.properties).forEach(closed); }
  if (s.items) closed(s.items);
})(schema.properties.spec);
const validate = ajv.compile(schema);
const accepts = (doc) => {
  const sch = validate(doc);
  const cel = celErrors(doc);
  return { ok: sch && cel.length === 0, why: [...(validate.errors || []).map((e) => `${e.instancePath} ${e.message}`), ...cel].join("; ") };
};

// Golden NextApps pass.
for (const f of readdirSync(join(here, "golden")).filter((f) => f.includes(".nextapp."))) {
  const doc = YAML.parse(readFileSync(join(here, "golden", f), "utf8"));
  const r = accepts(doc);
  ok(r.ok, `CRD accepts golden ${f}`, r.why);
}

// Invalid NextApps fail, each for the expected reason.
const base = () => ({ apiVersion: "knext.dev/v1alpha1", kind: "NextApp", metadata: { name: "a" },
  spec: { image: `registry.example/app@sha256:${digest}` } });
const bad = [
  ["latest image", (d) => { d.spec.image = "registry.example/a:latest"; }, /pinned by digest/],
  ["tag-only image", (d) => { d.spec.image = "registry.example/a:1.0"; }, /pinned by digest/],
  ["short digest", (d) => { d.spec.image = "a@sha256:abc"; }, /pinned by digest/],
  ["missing image", (d) => { delete d.spec.image; }, /required property 'image'/],
  ["reserved env", (d) => { d.spec.env = [{ name: "K_REVISION", value: "x" }]; }, /reserved by Knative/],
  ["owned env", (d) => { d.spec.env = [{ name: "KNEXT_PROBE_PORT", value: "1" }]; }, /set from spec.probes.port/],
  ["minScale > maxScale", (d) => { d.spec.scaling = { minScale: 3, maxScale: 2 }; }, /minScale must not exceed/],
  ["readiness period 0 with timeout", (d) => { d.spec.probes = { readiness: { timeoutSeconds: 1 } }; }, /disallowed when periodSeconds is 0/],
  ["pvc without claim", (d) => { d.spec.cache = { mode: "pvc" }; }, /claimName is required/],
  ["reserved port", (d) => { d.spec.port = 9091; }, /reserved by Knative/],
  ["probe port = app port", (d) => { d.spec.probes = { port: 8080 }; }, /must differ/],
  ["unknown field", (d) => { d.spec.replicas = 2; }, /additional properties/],
  ["timeout too long", (d) => { d.spec.timeoutSeconds = 900; }, /<= 600/],
  ["write without pvc flag", (d) => { d.spec.clusterFeatures = { persistentVolumeWrite: true }; }, /persistentVolumeWrite needs/],
  // What Knative refuses (knative.dev/pkg ValidateObjectMetadata, autoscaling annotation rules,
  // pkg/name, core env names).
  ["name starting with a digit", (d) => { d.metadata.name = "1a"; }, /must match pattern/],
  ["retention over 1h", (d) => { d.spec.scaling = { scaleToZeroRetention: "61m" }; }, /between 0s and 1h/],
  ["window not in whole seconds", (d) => { d.spec.scaling = { window: "6500ms" }; }, /whole number of seconds/],
  ["window not a duration", (d) => { d.spec.scaling = { window: "60" }; }, /must match pattern/],
  ["one-character repository", (d) => { d.spec.image = `registry.example/a@sha256:${digest}`; }, /does not parse/],
  ["env name with a tab", (d) => { d.spec.env = [{ name: "A\tB" }]; }, /must match pattern/],
  ["negative quantity", (d) => { d.spec.resources = { limits: { cpu: "-1" } }; }, /must match pattern/],
  ["cpu request above its limit", (d) => { d.spec.resources = { requests: { cpu: "2" }, limits: { cpu: "1500m" } }; }, /requests.cpu must be less than or equal to limits.cpu/],
  ["memory request above its limit", (d) => { d.spec.resources = { requests: { memory: "1Gi" }, limits: { memory: "1G" } }; }, /requests.memory must be less than or equal/],
  // env from Secrets and ConfigMaps, the database, the zone
  ["value beside valueFrom", (d) => { d.spec.env = [{ name: "A", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }]; }, /value must be empty/],
  ["two valueFrom sources", (d) => { d.spec.env = [{ name: "A", valueFrom: { secretKeyRef: { name: "s", key: "k" }, configMapKeyRef: { name: "c", key: "k" } } }]; }, /must NOT have more than 1 properties/],
  ["fieldRef without the flag", (d) => { d.spec.env = [{ name: "A", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }]; }, /kubernetes.podspec-fieldref/],
  ["fieldRef to an unknown field", (d) => { d.spec.clusterFeatures = { fieldRef: true }; d.spec.env = [{ name: "A", valueFrom: { fieldRef: { fieldPath: "spec.containers" } } }]; }, /must match pattern/],
  ["envFrom with both refs", (d) => { d.spec.envFrom = [{ secretRef: { name: "s" }, configMapRef: { name: "c" } }]; }, /exactly one of secretRef, configMapRef/],
  ["envFrom with neither", (d) => { d.spec.envFrom = [{ prefix: "P_" }]; }, /exactly one of secretRef, configMapRef/],
  ["DATABASE_URL beside database", (d) => { d.spec.database = { cluster: "db" }; d.spec.env = [{ name: "DATABASE_URL", value: "postgres://x" }]; }, /set from spec.database/],
  ["database without a cluster", (d) => { d.spec.database = { key: "uri" }; }, /needs a cluster/],
  ["zone without a name", (d) => { d.spec.zone = { basePath: "/shop" }; }, /required property 'name'/],
  ["basePath ending in /", (d) => { d.spec.zone = { name: "shop", basePath: "/shop/" }; }, /must match pattern/],
  ["basePath /", (d) => { d.spec.zone = { name: "shop", basePath: "/" }; }, /must match pattern/],
  ["assetPrefix without scheme or /", (d) => { d.spec.zone = { name: "shop", assetPrefix: "cdn.example" }; }, /must match pattern/],
  ["owned KNEXT_IMAGE", (d) => { d.spec.env = [{ name: "KNEXT_IMAGE", value: "x" }]; }, /set from spec.probes.port, spec.cache, spec.image and spec.zone/],
];
// ... and what it accepts.
const good = [
  ["uppercase tag", (d) => { d.spec.image = `registry.example/app:V1@sha256:${digest}`; }],
  ["Go duration window", (d) => { d.spec.scaling = { window: "1m30s", scaleToZeroRetention: "0.5h" }; }],
  ["timeoutSeconds 0", (d) => { d.spec.timeoutSeconds = 0; }],
  ["initialScale above maxScale", (d) => { d.spec.scaling = { maxScale: 2, initialScale: 3 }; }],
  ["exponent quantity", (d) => { d.spec.resources = { limits: { memory: "1e9" } }; }],
  ["request equal to its limit", (d) => { d.spec.resources = { requests: { cpu: 1, memory: "1G" }, limits: { cpu: "1000m", memory: "1e9" } }; }],
  ["database with overrides", (d) => { d.spec.database = { cluster: "db", secretName: "db-ro", key: "jdbc-uri" }; }],
  ["zone without basePath", (d) => { d.spec.zone = { name: "home" }; }],
  ["fieldRef with the flag", (d) => { d.spec.clusterFeatures = { fieldRef: true }; d.spec.env = [{ name: "A", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }]; }],
];
// The library agrees with the CRD on every one of these (through the CLI).
for (const [name, mut] of good) {
  const d = base();
  mut(d);
  const lib = spawnSync(cli, ["manifest", "-f", "-"], { input: JSON.stringify(d), encoding: "utf8" });
  ok(lib.status === 0, `library accepts ${name}`, lib.stderr);
}
for (const [name, mut] of bad) {
  const d = base();
  mut(d);
  const lib = spawnSync(cli, ["manifest", "-f", "-"], { input: JSON.stringify(d), encoding: "utf8" });
  ok(lib.status === 1, `library refuses ${name}`, lib.stderr || "accepted");
}
for (const [name, mut] of good) {
  const d = base();
  mut(d);
  const r = accepts(d);
  ok(r.ok, `CRD accepts ${name}`, r.why);
}
for (const [name, mut, want] of bad) {
  const d = base();
  mut(d);
  const r = accepts(d);
  ok(!r.ok && want.test(r.why), `CRD refuses ${name}`, r.ok ? "accepted" : r.why);
}

// The CRD's CEL digest rule and the library's check agree.
const imageRules = v.schema.openAPIV3Schema.properties.spec.properties.image["x-kubernetes-validations"].map((r) => r.rule);
const images = [
  `a@sha256:${digest}`, `registry.example:5000/team/app@sha256:${digest}`,
  `registry.example/app:1.0@sha256:${digest}`, "a", "a:latest", "registry.example/a:1.0",
  `a@sha256:${digest.toUpperCase()}`, `a@sha256:${digest}0`, `a@sha512:${digest}`,
  `@sha256:${digest}`, `A@sha256:${digest}`, "a@sha256:", `a@sha256:${digest.slice(1)}`,
  `ab@sha256:${digest}`, `registry.example/a@sha256:${digest}`, `registry.example/app:V1@sha256:${digest}`,
  `registry.example/app:v1+x@sha256:${digest}`, `localhost/a@sha256:${digest}`, `localhost/ab@sha256:${digest}`,
  `team/app@sha256:${digest}`, `registry.example/App@sha256:${digest}`, `app:@sha256:${digest}`,
];
for (const img of images) {
  const cel = imageRules.every((rule) => evaluate(rule, { self: img }) === true);
  const lib = spawnSync(cli, ["manifest", "--name", "x", "--image", img], { encoding: "utf8" });
  ok(cel === (lib.status === 0), `CEL rule and library agree on ${img} (${cel ? "pinned" : "refused"})`,
    `CEL ${cel}, library exit ${lib.status}: ${lib.stderr}`);
}

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
