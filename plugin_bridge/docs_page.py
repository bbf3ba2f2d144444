"""A self-contained HTML page that lists the bridge's API from its OpenAPI schema.

FastAPI's stock /docs pages load Swagger UI from a CDN; the bridge makes no network requests and its pages
load nothing from elsewhere, so it renders its own plain page instead.
"""
from __future__ import annotations

import html
import json

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _schema_name(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_schema_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_schema_name(schema.get('items', {}))}]"
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    return str(schema.get("type", "any"))


def docs_html(openapi: dict) -> str:
    """Every operation (method, path, summary, parameters, body, responses) and every schema, as HTML."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(openapi['info']['title'])} API</title>",
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;max-width:980px;color:#222}"
        "code,pre{font:12px ui-monospace,monospace;background:#f3f3f3;padding:1px 4px}"
        "h2{margin-top:28px;border-bottom:1px solid #ddd}"
        ".op{margin:14px 0;padding:8px 12px;border-left:4px solid #4a7}"
        ".m{font-weight:700;text-transform:uppercase;margin-right:8px}"
        "td{padding:2px 10px 2px 0;vertical-align:top}</style>",
        "</head><body>",
        f"<h1>{esc(openapi['info']['title'])} <small>{esc(openapi['info'].get('version', ''))}</small></h1>",
        f"<p>{esc(openapi['info'].get('description', ''))}</p>",
        "<p>Machine-readable schema: <a href='/openapi.json'><code>/openapi.json</code></a>. Every path except "
        "<code>/api/health</code> needs the header <code>Authorization: Bearer &lt;token&gt;</code>.</p>",
        "<h2>Operations</h2>",
    ]
    for path, item in openapi.get("paths", {}).items():
        for method in METHOD_ORDER:
            op = item.get(method)
            if not op:
                continue
            parts.append("<div class='op'>")
            summary = esc(op.get("summary", ""))
            parts.append(f"<div><span class='m'>{method}</span><code>{esc(path)}</code> {summary}</div>")
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<table>")
                for p in params:
                    kind = _schema_name(p.get("schema", {}))
                    req = "required" if p.get("required") else "optional"
                    desc = p.get("description", "") or p.get("schema", {}).get("description", "")
                    parts.append(
                        f"<tr><td><code>{esc(p['name'])}</code></td><td>{esc(p['in'])}</td><td>{esc(kind)}</td>"
                        f"<td>{req}</td><td>{esc(desc)}</td></tr>"
                    )
                parts.append("</table>")
            body = op.get("requestBody", {}).get("content", {})
            for media, spec in body.items():
                kind = esc(_schema_name(spec.get("schema", {})))
                parts.append(f"<div>body ({esc(media)}): <code>{kind}</code></div>")
            responses = op.get("responses", {}).items()
            codes = ", ".join(f"{esc(code)} {esc(r.get('description', ''))}" for code, r in responses)
            parts.append(f"<div>responses: {codes}</div></div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in openapi.get("components", {}).get("schemas", {}).items():
        parts.append(f"<h3 id='{esc(name)}'>{esc(name)}</h3>")
        if schema.get("description"):
            parts.append(f"<p>{esc(schema['description'])}</p>")
        props = schema.get("properties", {})
        if props:
            parts.append("<table>")
            for prop, spec in props.items():
                parts.append(
                    f"<tr><td><code>{esc(prop)}</code></td><td>{esc(_schema_name(spec))}</td>"
                    f"<td>{esc(json.dumps(spec['default'])) if 'default' in spec else ''}</td>"
                    f"<td>{esc(spec.get('description', ''))}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
