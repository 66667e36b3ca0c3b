// Validates rendered Knative Services against the Knative Service schema of
// @kubernetes-models/knative. Prints TAP: one test per file.
// usage: node validate.mjs FILE.yaml|FILE.json...
import { readFileSync } from "node:fs";
import { Service } from "@kubernetes-models/knative/serving.knative.dev/v1/Service";
import YAML from "yaml";

const files = process.argv.slice(2);
console.log(`1..${files.length}`);
let failed = 0;
files.forEach((file, i) => {
  const text = readFileSync(file, "utf8");
  let doc;
  try {
    doc = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text, { version: "1.2" });
    // YAML 1.1 readers (kubectl's) must read the same values as YAML 1.2 ones.
    if (!file.endsWith(".json")) {
      const old = YAML.parse(text, { version: "1.1" });
      if (JSON.stringify(old) !== JSON.stringify(doc))
        throw new Error("YAML 1.1 and 1.2 readers disagree on a value");
    }
    if (doc.apiVersion !== "serving.knative.dev/v1" || doc.kind !== "Service")
      throw new Error("not a serving.knative.dev/v1 Service");
    new Service(doc).validate();
    console.log(`ok ${i + 1} - ${file}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${i + 1} - ${file}`);
    for (const line of String(e.message).split("\n")) console.log(`# ${line}`);
  }
});
process.exit(failed ? 1 : 0);
