"""Merges docs/openapi.yaml with the area files docs/openapi/*.yaml and embeds the result as
JSON in a C++ source file (build step).

Each area file holds `paths:` and optionally `components:` (schemas, parameters, responses);
they are merged into the main document. A path or component defined twice is an error.
"""
import glob
import json
import os
import sys

import yaml

src, parts_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding="utf-8") as f:
    doc = yaml.safe_load(f)
for part in sorted(glob.glob(os.path.join(parts_dir, "*.yaml"))):
    with open(part, encoding="utf-8") as f:
        extra = yaml.safe_load(f) or {}
    unknown = set(extra) - {"paths", "components", "tags"}
    if unknown:
        sys.exit(f"{part}: unexpected top-level keys {sorted(unknown)}")
    for path, item in (extra.get("paths") or {}).items():
        if path in doc.setdefault("paths", {}):
            sys.exit(f"{part}: path {path} is defined twice")
        doc["paths"][path] = item
    for kind, entries in (extra.get("components") or {}).items():
        target = doc.setdefault("components", {}).setdefault(kind, {})
        for name, value in entries.items():
            if name in target:
                sys.exit(f"{part}: components.{kind}.{name} is defined twice")
            target[name] = value
    doc.setdefault("tags", []).extend(extra.get("tags") or [])
text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
chunks = [text[i:i + 8000] for i in range(0, len(text), 8000)]
with open(out, "w", encoding="utf-8") as f:
    f.write("// Generated from docs/openapi.yaml and docs/openapi/*.yaml. Do not edit.\n")
    f.write("#include <string>\n")
    f.write("namespace jishi::api {\nstd::string openapi_json() {\n  std::string s;\n")
    for c in chunks:
        f.write('  s += R"jishi_openapi(' + c + ')jishi_openapi";\n')
    f.write("  return s;\n}\n}  // namespace jishi::api\n")
