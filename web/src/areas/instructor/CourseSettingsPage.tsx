import { api } from "../../api/client";
import { ProblemAlert } from "../../components/states";
import { bodyOf, CourseFields, fieldsOf, type CourseFieldsValue } from "./CourseFields";
import { useCourse } from "./CourseWorkspace";
import { useAction } from "./useAction";
import { useState } from "react";

export function CourseSettingsPage() {
  const { course, reload } = useCourse();
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const save = (value: CourseFieldsValue) =>
    action.run(async () => {
      setSaved(false);
      await api.patch(`/courses/${course.id}`, bodyOf(value));
      setSaved(true);
      reload();
    });
  return (
    <section className="card" aria-label="Course settings">
      <ProblemAlert problem={action.problem} />
      {saved && (
        <p role="status" className="mb-2 text-green-800">
          <span aria-hidden="true">✓ </span>Saved.
        </p>
      )}
      <CourseFields key={course.updated_at} initial={fieldsOf(course)} submitLabel="Save course" busy={action.busy} onSubmit={save} />
    </section>
  );
}
