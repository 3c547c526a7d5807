"""Converts docs/openapi.yaml to JSON embedded in a C++ source file (build step)."""
import json
import sys

import yaml

src, out = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    doc = yaml.safe_load(f)
text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
chunks = [text[i:i + 8000] for i in range(0, len(text), 8000)]
with open(out, "w", encoding="utf-8") as f:
    f.write("// Generated from docs/openapi.yaml. Do not edit.\n#include <string>\n")
    f.write("namespace jishi::api {\nstd::string openapi_json() {\n  std::string s;\n")
    for c in chunks:
        f.write('  s += R"jishi_openapi(' + c + ')jishi_openapi";\n')
    f.write("  return s;\n}\n}  // namespace jishi::api\n")
