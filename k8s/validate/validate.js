#!/usr/bin/env node
// Offline schema validation of built-in Kubernetes kinds with kubernetes-models (no API server needed).
// Usage: node validate.js <file-or-directory>...   (setup once: npm ci --prefix k8s/validate)
// Custom resources (Strimzi, KEDA) are counted and left to the Java tests, which load them into fabric8's model.
// Session templates are checked with sample values for their ${...} placeholders, including the copies embedded
// in the gt-session-templates ConfigMap of rendered overlays.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const SAMPLE_SESSION = {
  SESSION_ID: "Sample_1",
  SESSION_LABEL: "sample-1-0a1b2c3d",
  DESIGN: "online",
  SPLIT_K: "2",
  ALPHA: "0.5",
  BITS_UP: "8",
  BITS_DOWN: "8",
  TASK: "arc:/data/tasks/test.jsonl,/data/tasks/train.jsonl",
  TRAIN_SIZE: "2000",
  EVAL_SIZE: "500",
};
const CUSTOM_GROUPS = ["kafka.strimzi.io", "keda.sh"];

function yamlFilesUnder(target) {
  if (fs.statSync(target).isFile()) return [target];
  return fs.readdirSync(target, { withFileTypes: true })
    .filter((entry) => entry.name !== "node_modules")
    .flatMap((entry) => {
      const child = path.join(target, entry.name);
      if (entry.isDirectory()) return yamlFilesUnder(child);
      return /\.ya?ml$/.test(entry.name) ? [child] : [];
    })
    .sort();
}

function fillPlaceholders(text) {
  return text.replace(/\$\{([A-Z_]+)\}/g, (whole, name) => SAMPLE_SESSION[name] ?? whole);
}

function documentsIn(text) {
  return YAML.parseAllDocuments(fillPlaceholders(text)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
    return doc.toJSON();
  }).filter((object) => object !== null);
}

function modelClassFor(apiVersion, kind) {
  try {
    return require(`kubernetes-models/${apiVersion}`)[kind];
  } catch (notFound) {
    return undefined;
  }
}

function isCustomResource(apiVersion) {
  return CUSTOM_GROUPS.includes(apiVersion.split("/")[0]);
}

function embeddedTemplates(object) {
  const isTemplateMap = object.kind === "ConfigMap" && object.metadata?.name === "gt-session-templates";
  return isTemplateMap ? Object.entries(object.data ?? {}) : [];
}

const counts = { valid: 0, custom: 0, invalid: 0 };

function check(object, where) {
  if (object.kind === "Kustomization") return;
  const label = `${where}: ${object.apiVersion}/${object.kind} ${object.metadata?.name ?? "(no name)"}`;
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
    counts.invalid++;
    console.log(`INVALID ${label}: apiVersion and kind are required`);
    return;
  }
  if (isCustomResource(object.apiVersion)) {
    counts.custom++;
  } else {
    const Model = modelClassFor(object.apiVersion, object.kind);
    if (Model === undefined) {
      counts.invalid++;
      console.log(`INVALID ${label}: not a known built-in kind`);
      return;
    }
    try {
      new Model(object).validate();
      counts.valid++;
    } catch (error) {
      counts.invalid++;
      console.log(`INVALID ${label}: ${error.message}`);
      return;
    }
  }
  for (const [key, text] of embeddedTemplates(object)) {
    documentsIn(text).forEach((inner) => check(inner, `${where} [${object.metadata.name}/${key}]`));
  }
}

const targets = process.argv.slice(2);
if (targets.length === 0) {
  console.error("usage: node validate.js <file-or-directory>...");
  process.exit(2);
}
for (const file of targets.flatMap(yamlFilesUnder)) {
  try {
    documentsIn(fs.readFileSync(file, "utf8")).forEach((object) => check(object, file));
  } catch (error) {
    counts.invalid++;
    console.log(`INVALID ${file}: ${error.message}`);
  }
}
console.log(`built-in kinds valid: ${counts.valid}, custom resources (checked in Java): ${counts.custom}, `
  + `invalid: ${counts.invalid}`);
process.exit(counts.invalid === 0 ? 0 : 1);
