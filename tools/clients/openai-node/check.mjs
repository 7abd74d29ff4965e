// NanoLlm's server driven by OpenAI's official Node client: node check.mjs BASE_URL MODEL
// (BASE_URL as the server prints it, e.g. http://127.0.0.1:8000). Prints one line per check, then "N passed, N failed";
// exits 1 when a check failed.
import OpenAI from "openai";

const [baseUrl, model] = process.argv.slice(2);
if (!baseUrl || !model) {
  console.error("usage: node check.mjs BASE_URL MODEL");
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: process.env.NANOLLM_API_KEY ?? "unused on loopback", maxRetries: 0 });
const ask = (seed, extra = {}) => ({ model, messages: [{ role: "user", content: "To be" }], max_tokens: 24, seed, ...extra });
const checks = [];
const check = (name, body) => checks.push([name, body]);
const expect = (condition, message) => {
  if (!condition) throw new Error(message);
};

check("models list names the served model", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  expect(ids.length === 1 && ids[0] === model, `models: ${JSON.stringify(ids)}`);
});

check("completion continues the prompt and counts tokens", async () => {
  const c = await client.completions.create({ model, prompt: "To be", max_tokens: 12, seed: 3 });
  expect(c.choices[0].text.length > 0, "empty text");
  expect(c.choices[0].finish_reason === "length", `finish_reason ${c.choices[0].finish_reason}`);
  expect(c.usage.completion_tokens === 12, `usage ${JSON.stringify(c.usage)}`);
});

check("chat completion replies as the assistant", async () => {
  const c = await client.chat.completions.create(ask(1));
  expect(c.choices[0].message.role === "assistant", `role ${c.choices[0].message.role}`);
  expect(c.choices[0].message.content.length > 0, "empty reply");
  expect(c.usage.completion_tokens === 24, `usage ${JSON.stringify(c.usage)}`);
});

check("streaming gives the reply of the same seed", async () => {
  const whole = await client.chat.completions.create(ask(5));
  const stream = await client.chat.completions.create({ ...ask(5), stream: true });
  let text = "";
  let pieces = 0;
  let finish = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.delta?.content) {
      text += choice.delta.content;
      pieces++;
    }
    finish = choice?.finish_reason ?? finish;
  }
  expect(pieces > 1, `${pieces} pieces`);
  expect(text === whole.choices[0].message.content, `streamed ${JSON.stringify(text)} vs ${JSON.stringify(whole.choices[0].message.content)}`);
  expect(finish === "length", `finish_reason ${finish}`);
});

check("the same seed gives the same reply, another seed another", async () => {
  const reply = async (seed) => (await client.chat.completions.create(ask(seed, { max_tokens: 40, temperature: 1 }))).choices[0].message.content;
  const [first, again, other] = [await reply(11), await reply(11), await reply(12)];
  expect(first === again, "same seed, different replies");
  expect(first !== other, "different seeds, same reply");
});

check("a bad value is a 400 with OpenAI's error object", async () => {
  try {
    await client.chat.completions.create(ask(1, { temperature: -1 }));
    throw new Error("no error");
  } catch (e) {
    expect(e instanceof OpenAI.BadRequestError, `${e}`);
    expect(e.status === 400 && e.error?.param === "temperature", `status ${e.status}, error ${JSON.stringify(e.error)}`);
  }
});

check("an unknown model is a 404", async () => {
  try {
    await client.chat.completions.create({ ...ask(1), model: "gpt-4o" });
    throw new Error("no error");
  } catch (e) {
    expect(e instanceof OpenAI.NotFoundError && e.code === "model_not_found", `${e}`);
  }
});

let failed = 0;
for (const [name, body] of checks) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
