// The `openai` npm package against seek serve: one non-streaming and one streaming chat at temperature 0.
// Usage: node openai-client.mjs BASE_URL MODEL QUESTION MAX_TOKENS NPM_DIR   (BASE_URL ends in /v1)
// Prints one JSON object: {once: answer, stream: answer}, answer = {reasoning, content, finish, chunks, usage}.
import { createRequire } from "node:module";
import path from "node:path";

const [baseURL, model, question, maxTokens, npmDir] = process.argv.slice(2);
// The packages live in tests/npm, not beside this copied script.
const require = createRequire(path.join(npmDir, "package.json"));
const { default: OpenAI } = require("openai");

const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 30_000 });
const request = { model, messages: [{ role: "user", content: question }], temperature: 0, max_tokens: Number(maxTokens) };

const completion = await client.chat.completions.create(request);
const message = completion.choices[0].message;
const once = {
  reasoning: message.reasoning_content ?? null,
  content: message.content,
  finish: completion.choices[0].finish_reason,
  chunks: 1,
  usage: completion.usage,
};

const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
const streamed = { reasoning: "", content: "", finish: null, chunks: 0, usage: null, reasoningAfterContent: false };
for await (const chunk of stream) {
  streamed.chunks++;
  if (chunk.usage) streamed.usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  if (choice.delta.reasoning_content) {
    if (streamed.content.length > 0) streamed.reasoningAfterContent = true;
    streamed.reasoning += choice.delta.reasoning_content;
  }
  if (choice.delta.content) streamed.content += choice.delta.content;
  if (choice.finish_reason) streamed.finish = choice.finish_reason;
}

process.stdout.write(JSON.stringify({ once, stream: streamed }));
