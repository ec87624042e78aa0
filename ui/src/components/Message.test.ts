import { render } from "svelte/server";
import { describe, expect, it } from "vitest";
import { citation } from "../lib/fixtures";
import Message from "./Message.svelte";

const cite = (n: number) => citation(n, n + 2);

describe("an answer on screen", () => {
  it("shows one chip per cited source, and a number with no source as text", () => {
    const { body } = render(Message, {
      props: {
        role: "assistant",
        segments: [
          { kind: "text", text: "Use margins " },
          { kind: "cite", sources: [1, 2] },
          { kind: "text", text: " and " },
          { kind: "cite", sources: [7] },
        ],
        citations: [cite(1), cite(2)],
        streaming: true,
        onOpen: () => {},
      },
    });
    const answer = body.match(/<p class="answer[^"]*">([\s\S]*?)<\/p>/)?.[1] ?? "";
    expect(answer.match(/<button class="chip[^"]*" data-page="(\d+)"/g)?.length).toBe(2);
    expect(answer).toContain('data-page="3"');
    expect(answer).toContain('data-page="4"');
    expect(answer.replace(/<!--[^>]*-->/g, "").replace(/<[^>]+>/g, "")).toMatch(/^Use margins \s*\[1\]\s*\[2\] and \[7\]/);
    expect(answer).toContain('class="cursor');
  });
});
