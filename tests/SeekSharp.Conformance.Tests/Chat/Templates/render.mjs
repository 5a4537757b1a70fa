// Renders chat templates with @huggingface/jinja, the reference the C# engine must match byte for byte.
// stdin: JSON array of { "template": string, "variables": object }.
// stdout: JSON array of { "ok": true, "output": string } or { "ok": false, "error": string }, in input order.
import { readFileSync } from "node:fs";
import { Template } from "../../../npm/node_modules/@huggingface/jinja/dist/index.js";

const cases = JSON.parse(readFileSync(0, "utf8"));
const parsed = new Map();
const results = cases.map(({ template, variables }) => {
	try {
		let t = parsed.get(template);
		if (!t) {
			t = new Template(template);
			parsed.set(template, t);
		}
		return { ok: true, output: t.render(variables) };
	} catch (e) {
		return { ok: false, error: String(e && e.message ? e.message : e) };
	}
});
process.stdout.write(JSON.stringify(results));
