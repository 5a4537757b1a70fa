// The `ollama` npm package against seek serve: one non-streaming and one streaming chat with think: true at
// temperature 0, plus list and version. Usage: node ollama-client.mjs BASE_URL MODEL QUESTION MAX_TOKENS NPM_DIR
// Prints one JSON object: {once: answer, stream: answer, models: [names], version}.
import { createRequire } from "node:module";
import path from "node:path";

const [host, model, question, maxTokens, npmDir] = process.argv.slice(2);
// The packages live in tests/npm, not beside this copied script.
const require = createRequire(path.join(npmDir, "package.json"));
const { Ollama } = require("ollama");

const ollama = new Ollama({ host });
const request = { model, messages: [{ role: "user", content: question }], think: true, options: { temperature: 0, num_predict: Number(maxTokens) } };

const response = await ollama.chat({ ...request, stream: false });
const once = {
  reasoning: response.message.thinking ?? null,
  content: response.message.content,
  finish: response.done_reason,
  chunks: 1,
  usage: { prompt_tokens: response.prompt_eval_count, completion_tokens: response.eval_count },
};

const streamed = { reasoning: "", content: "", finish: null, chunks: 0, usage: null, reasoningAfterContent: false };
for await (const part of await ollama.chat({ ...request, stream: true })) {
  streamed.chunks++;
  if (part.message.thinking) {
    if (streamed.content.length > 0) streamed.reasoningAfterContent = true;
    streamed.reasoning += part.message.thinking;
  }
  if (part.message.content) streamed.content += part.message.content;
  if (part.done) {
    streamed.finish = part.done_reason;
    streamed.usage = { prompt_tokens: part.prompt_eval_count, completion_tokens: part.eval_count };
  }
}

const models = (await ollama.list()).models.map(m => m.name);
const { version } = await ollama.version();
process.stdout.write(JSON.stringify({ once, stream: streamed, models, version }));
