import { create } from "zustand";
import { api, refreshAccessToken } from "../api/client";
import { toProblem, type ApiProblem } from "../api/problem";
import type { ChatMessage, ChatPage } from "../api/types";
import { useAuth } from "./auth";

export const CHAT_PAGE_SIZE = 50;
const UNAUTHORIZED = 4401;
/** Closed for good: the course is not (or no longer) the caller's. */
const FINAL_CLOSES = new Set([4403, 4404]);

/** Oldest first, each message once: history pages, REST answers and socket pushes overlap. */
export function mergeMessages(known: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map(known.map((message) => [message.id, message]));
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

type Status = "idle" | "connecting" | "live" | "offline" | "closed";

interface ChatState {
  courseId: string | null;
  messages: ChatMessage[];
  /** The cursor for older history; null when the start is reached. */
  nextBefore: string | null;
  loading: boolean;
  problem: ApiProblem | null;
  status: Status;
  open: (courseId: string) => Promise<void>;
  loadOlder: () => Promise<void>;
  received: (message: ChatMessage) => void;
  removed: (id: string) => void;
  send: (body: string) => Promise<void>;
  reset: () => void;
}

const initial = { courseId: null, messages: [], nextBefore: null, loading: false, problem: null, status: "idle" as Status };

export const useChat = create<ChatState>()((set, get) => ({
  ...initial,
  open: async (courseId) => {
    if (get().courseId !== courseId) set({ ...initial, courseId });
    set({ loading: true, problem: null });
    try {
      const { data } = await api.get<ChatPage>(`/courses/${courseId}/chat`, { params: { limit: CHAT_PAGE_SIZE } });
      if (get().courseId !== courseId) return;
      // A reopen (after a reconnect) keeps older pages already loaded.
      const fresh = get().messages.length === 0;
      set({ messages: mergeMessages(get().messages, data.items), nextBefore: fresh ? data.next_before : get().nextBefore, loading: false });
    } catch (error) {
      set({ problem: toProblem(error), loading: false });
    }
  },
  loadOlder: async () => {
    const { courseId, nextBefore } = get();
    if (!courseId || !nextBefore) return;
    set({ loading: true, problem: null });
    try {
      const { data } = await api.get<ChatPage>(`/courses/${courseId}/chat`, { params: { limit: CHAT_PAGE_SIZE, before: nextBefore } });
      if (get().courseId !== courseId) return;
      set({ messages: mergeMessages(get().messages, data.items), nextBefore: data.next_before, loading: false });
    } catch (error) {
      set({ problem: toProblem(error), loading: false });
    }
  },
  received: (message) => {
    if (message.course_id === get().courseId) set({ messages: mergeMessages(get().messages, [message]) });
  },
  removed: (id) => set({ messages: get().messages.filter((message) => message.id !== id) }),
  send: async (body) => {
    const courseId = get().courseId;
    if (!courseId) return;
    // Over REST, so a refusal comes back as a problem document; the socket echoes the
    // message too, and merging keeps it once.
    const { data } = await api.post<ChatMessage>(`/courses/${courseId}/chat`, { body });
    get().received(data);
  },
  reset: () => set(initial),
}));

type SocketMessage = { type: "chat.message"; data: ChatMessage } | { type: "chat.deleted"; data: { id: string } } | { type: string; data?: unknown };

/** Keeps `WS /ws/courses/{id}/chat` open: authenticates with the first message (never the
 * token in the URL), reconnects with back-off and reloads the latest history to fill the gap,
 * refreshes the token on 4401, and stops for good on 4403/4404. Returns a stop function. */
export function connectChat(courseId: string): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let delay = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reconnecting = false;

  const open = () => {
    const token = useAuth.getState().accessToken;
    if (stopped || !token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    useChat.setState({ status: "connecting" });
    socket = new WebSocket(`${scheme}://${location.host}/ws/courses/${encodeURIComponent(courseId)}/chat`);
    socket.onopen = () => {
      socket?.send(JSON.stringify({ type: "auth", token }));
      useChat.setState({ status: "live" });
      delay = 1000;
      if (reconnecting) void useChat.getState().open(courseId);
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as SocketMessage;
      if (message.type === "chat.message") useChat.getState().received(message.data as ChatMessage);
      else if (message.type === "chat.deleted") useChat.getState().removed((message.data as { id: string }).id);
    };
    socket.onclose = async (event) => {
      if (stopped) return;
      if (FINAL_CLOSES.has(event.code)) {
        useChat.setState({ status: "closed" });
        return;
      }
      useChat.setState({ status: "offline" });
      if (event.code === UNAUTHORIZED && !(await refreshAccessToken())) return;
      reconnecting = true;
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
  };
}
