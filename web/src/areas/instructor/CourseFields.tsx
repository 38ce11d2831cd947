import type { FormEvent } from "react";
import { useState } from "react";
import type { Course } from "../../api/types";
import { Field } from "../../components/Field";
import { CheckField, SelectField, TextAreaField } from "./Select";
import type { CourseCreate } from "./types";

/** What the course form edits, as the API takes it. */
export type CourseFieldsValue = Required<Pick<CourseCreate, "title" | "description" | "level" | "language" | "duration_minutes" | "visibility" | "certificate_enabled" | "tags" | "skills">> & {
  subtitle: string;
  category: string;
};

export function fieldsOf(course?: Course): CourseFieldsValue {
  return {
    title: course?.title ?? "",
    subtitle: course?.subtitle ?? "",
    description: course?.description ?? "",
    category: course?.category ?? "",
    level: course?.level ?? "beginner",
    language: course?.language ?? "en",
    duration_minutes: course?.duration_minutes ?? 0,
    visibility: course?.visibility ?? "public",
    certificate_enabled: course?.certificate_enabled ?? false,
    tags: course?.tags ?? [],
    skills: course?.skills ?? [],
  };
}

/** The body sent: empty optional texts become null. */
export function bodyOf(value: CourseFieldsValue) {
  return { ...value, subtitle: value.subtitle || null, category: value.category || null };
}

const words = (text: string) =>
  text
    .split(",")
    .map((word) => word.trim())
    .filter(Boolean);

/** The course's own fields; `onSubmit` gets them as the API takes them. */
export function CourseFields({ initial, submitLabel, busy, onSubmit }: { initial: CourseFieldsValue; submitLabel: string; busy: boolean; onSubmit: (value: CourseFieldsValue) => void }) {
  const [value, setValue] = useState(initial);
  const [tags, setTags] = useState(initial.tags.join(", "));
  const [skills, setSkills] = useState(initial.skills.join(", "));
  const set = <K extends keyof CourseFieldsValue>(key: K, field: CourseFieldsValue[K]) => setValue((current) => ({ ...current, [key]: field }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({ ...value, tags: words(tags), skills: words(skills) });
  };
  return (
    <form onSubmit={submit} className="grid gap-x-4 sm:grid-cols-2">
      <Field label="Title" required value={value.title} onChange={(e) => set("title", e.target.value)} />
      <Field label="Subtitle" value={value.subtitle} onChange={(e) => set("subtitle", e.target.value)} />
      <div className="sm:col-span-2">
        <TextAreaField label="Description" value={value.description} onChange={(e) => set("description", e.target.value)} />
      </div>
      <Field label="Category" value={value.category} onChange={(e) => set("category", e.target.value)} />
      <SelectField label="Level" value={value.level} onChange={(e) => set("level", e.target.value as CourseFieldsValue["level"])}>
        <option value="beginner">Beginner</option>
        <option value="intermediate">Intermediate</option>
        <option value="advanced">Advanced</option>
      </SelectField>
      <Field label="Tags" hint="Separated by commas" value={tags} onChange={(e) => setTags(e.target.value)} />
      <Field label="Skills" hint="Separated by commas" value={skills} onChange={(e) => setSkills(e.target.value)} />
      <Field label="Language" value={value.language} onChange={(e) => set("language", e.target.value)} />
      <Field label="Duration (minutes)" type="number" min={0} value={value.duration_minutes} onChange={(e) => set("duration_minutes", Number(e.target.value))} />
      <SelectField label="Visibility" value={value.visibility} onChange={(e) => set("visibility", e.target.value as CourseFieldsValue["visibility"])}>
        <option value="public">Public</option>
        <option value="organization">My organisation only</option>
      </SelectField>
      <div className="self-end">
        <CheckField label="Certificate on completion" checked={value.certificate_enabled} onChange={(checked) => set("certificate_enabled", checked)} />
      </div>
      <div className="sm:col-span-2">
        <button type="submit" className="btn" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
      </div>
    </form>
  );
}
