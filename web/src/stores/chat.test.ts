import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChatMessage } from "../api/types";
import { fakeServer } from "../test/fakeServer";
import { useAuth } from "./auth";
import { connectChat, mergeMessages, useChat } from "./chat";

function message(id: string, at: string, body = id): ChatMessage {
  return { id, course_id: "c1", author_id: "u1", body, created_at: `2026-11-26T10:00:${at}Z` };
}

/** A WebSocket double: records what the client sends and lets the test push and close. */
class FakeSocket {
  static all: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {}
  push(data: unknown) {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
}

describe("mergeMessages", () => {
  it("keeps each message once, oldest first", () => {
    const merged = mergeMessages([message("b", "02"), message("a", "01")], [message("c", "03"), message("b", "02", "edited")]);
    expect(merged.map((item) => item.id)).toEqual(["a", "b", "c"]);
    expect(merged[1].body).toBe("edited");
  });
});

describe("chat store", () => {
  beforeEach(() => {
    useChat.getState().reset();
    useAuth.getState().setTokens({ access_token: "access-1", refresh_token: "refresh-1" });
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it("loads the history newest-first from the API and shows it oldest first, then older pages", async () => {
    const calls = fakeServer(({ url }) =>
      url.includes("before")
        ? { status: 200, data: { items: [message("a", "01")], next_before: null } }
        : { status: 200, data: { items: [message("c", "03"), message("b", "02")], next_before: "b" } },
    );
    await useChat.getState().open("c1");
    expect(useChat.getState().messages.map((item) => item.id)).toEqual(["b", "c"]);
    expect(useChat.getState().nextBefore).toBe("b");
    fakeServer((call) => {
      calls.push(call);
      return { status: 200, data: { items: [message("a", "01")], next_before: null } };
    });
    await useChat.getState().loadOlder();
    expect(useChat.getState().messages.map((item) => item.id)).toEqual(["a", "b", "c"]);
    expect(useChat.getState().nextBefore).toBeNull();
  });

  it("sends over REST and keeps the socket's echo of the same message once", async () => {
    const calls = fakeServer(({ method }) =>
      method === "POST" ? { status: 201, data: message("m1", "05", "hello") } : { status: 200, data: { items: [], next_before: null } },
    );
    await useChat.getState().open("c1");
    const stop = connectChat("c1");
    const socket = FakeSocket.all[0];
    socket.onopen?.();
    await useChat.getState().send("hello");
    socket.push({ type: "chat.message", data: message("m1", "05", "hello") });
    expect(useChat.getState().messages.map((item) => item.body)).toEqual(["hello"]);
    expect(calls.find((call) => call.method === "POST")).toMatchObject({ url: "/courses/c1/chat", body: { body: "hello" } });
    stop();
  });

  it("authenticates with the first message, never in the URL, and applies pushes and deletions", async () => {
    fakeServer(() => ({ status: 200, data: { items: [], next_before: null } }));
    await useChat.getState().open("c1");
    const stop = connectChat("c1");
    const socket = FakeSocket.all[0];
    expect(socket.url).toMatch(/\/ws\/courses\/c1\/chat$/);
    expect(socket.url).not.toContain("access-1");
    socket.onopen?.();
    expect(JSON.parse(socket.sent[0])).toEqual({ type: "auth", token: "access-1" });
    expect(useChat.getState().status).toBe("live");
    socket.push({ type: "chat.message", data: message("x", "07") });
    socket.push({ type: "chat.message", data: { ...message("y", "08"), course_id: "other" } });
    expect(useChat.getState().messages.map((item) => item.id)).toEqual(["x"]);
    socket.push({ type: "chat.deleted", data: { id: "x" } });
    expect(useChat.getState().messages).toEqual([]);
    stop();
  });

  it("reconnects after a drop and reloads the latest history, but stops for good on 4403", async () => {
    vi.useFakeTimers();
    const calls = fakeServer(() => ({ status: 200, data: { items: [message("late", "09")], next_before: null } }));
    const stop = connectChat("c1");
    useChat.setState({ courseId: "c1" });
    FakeSocket.all[0].onopen?.();
    FakeSocket.all[0].onclose?.({ code: 1006 });
    expect(useChat.getState().status).toBe("offline");
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1].onopen?.();
    await vi.waitFor(() => expect(useChat.getState().messages.map((item) => item.id)).toEqual(["late"]));
    expect(calls.some((call) => call.url === "/courses/c1/chat")).toBe(true);
    FakeSocket.all[1].onclose?.({ code: 4403 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(useChat.getState().status).toBe("closed");
    stop();
  });
});
