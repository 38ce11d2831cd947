import { useEffect, useRef } from "react";
import { api } from "../../api/client";
import type { Playback } from "../../api/types";
import { Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

/** Seconds between two position reports while the video plays. */
export const HEARTBEAT_SECONDS = 10;

interface PositionAnswer {
  is_completed: boolean;
}

/** A video lesson: resumes at the saved position, reports the position while playing, on
 * pause and at the end (the API completes a lesson watched to 90 %). */
export function VideoLesson({ lessonId, resumeAt, onCompleted }: { lessonId: string; resumeAt: number; onCompleted: () => void }) {
  const playback = useApi(() => api.get<Playback>(`/lessons/${lessonId}/playback`).then((r) => r.data), lessonId);
  const video = useRef<HTMLVideoElement>(null);
  const lastSent = useRef(0);
  const completed = useRef(false);

  useEffect(() => {
    completed.current = false;
  }, [lessonId]);

  const report = async () => {
    const element = video.current;
    if (!element || !Number.isFinite(element.duration) || element.duration <= 0) return;
    lastSent.current = Date.now();
    try {
      const { data } = await api.put<PositionAnswer>(`/lessons/${lessonId}/position`, {
        position_seconds: element.currentTime,
        duration_seconds: element.duration,
      });
      if (data.is_completed && !completed.current) {
        completed.current = true;
        onCompleted();
      }
    } catch {
      // A missed heartbeat is harmless: the next one carries the position.
    }
  };

  if (playback.loading) return <Loading label="Loading the video…" />;
  if (playback.error || !playback.data) return <ProblemAlert problem={playback.error} onRetry={playback.reload} />;
  return (
    // The API stores no caption tracks for lesson videos yet.
    // eslint-disable-next-line jsx-a11y/media-has-caption
    <video
      ref={video}
      data-testid="lesson-video"
      className="w-full rounded bg-black"
      controls
      preload="metadata"
      src={playback.data.playback_url}
      onLoadedMetadata={(event) => {
        const element = event.currentTarget;
        if (resumeAt > 0 && resumeAt < element.duration - 1) element.currentTime = resumeAt;
      }}
      onTimeUpdate={() => {
        if (Date.now() - lastSent.current >= HEARTBEAT_SECONDS * 1000) void report();
      }}
      onPause={() => void report()}
      onEnded={() => void report()}
    >
      Your browser cannot play this video.
    </video>
  );
}
