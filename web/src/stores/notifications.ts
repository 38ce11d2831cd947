import { create } from "zustand";
import { api, refreshAccessToken } from "../api/client";
import type { Notification, NotificationPage } from "../api/types";
import { useAuth } from "./auth";

interface NotificationState {
  unread: number;
  latest: Notification[];
  connected: boolean;
  load: () => Promise<void>;
  received: (notification: Notification) => void;
  markAllRead: () => Promise<void>;
  reset: () => void;
}

export const useNotifications = create<NotificationState>()((set) => ({
  unread: 0,
  latest: [],
  connected: false,
  load: async () => {
    const { data } = await api.get<NotificationPage>("/notifications", { params: { limit: 10 } });
    set({ unread: data.unread_count, latest: data.items });
  },
  received: (notification) =>
    set((state) =>
      state.latest.some((known) => known.id === notification.id)
        ? state
        : { unread: state.unread + (notification.read_at ? 0 : 1), latest: [notification, ...state.latest].slice(0, 10) },
    ),
  markAllRead: async () => {
    await api.post("/notifications/read-all");
    set((state) => ({
      unread: 0,
      latest: state.latest.map((item) => ({ ...item, read_at: item.read_at ?? new Date().toISOString() })),
    }));
  },
  reset: () => set({ unread: 0, latest: [], connected: false }),
}));

const UNAUTHORIZED = 4401;

/** Keeps `WS /ws/notifications` open while signed in: authenticates with the first message
 * (the token stays out of URLs), reconnects with `?since=` the last id it handled, and
 * refreshes the access token when the server closes with 4401. Returns a stop function. */
export function connectNotifications(): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let lastId: string | null = null;
  let delay = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const open = () => {
    const token = useAuth.getState().accessToken;
    if (stopped || !token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = lastId ? `?since=${encodeURIComponent(lastId)}` : "";
    socket = new WebSocket(`${scheme}://${location.host}/ws/notifications${since}`);
    socket.onopen = () => {
      socket?.send(JSON.stringify({ type: "auth", token }));
      useNotifications.setState({ connected: true });
      delay = 1000;
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { id?: string; type: string; data?: Notification };
      if (message.type === "notification.created" && message.data) {
        lastId = message.id ?? lastId;
        useNotifications.getState().received(message.data);
      }
    };
    socket.onclose = async (event) => {
      useNotifications.setState({ connected: false });
      if (stopped) return;
      if (event.code === UNAUTHORIZED && !(await refreshAccessToken())) return;
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
    useNotifications.getState().reset();
  };
}
