import { useNavigate } from "react-router";
import { api } from "../../api/client";
import type { Course } from "../../api/types";
import { PageTitle, ProblemAlert } from "../../components/states";
import { bodyOf, CourseFields, fieldsOf } from "./CourseFields";
import { useAction } from "./useAction";

export function NewCoursePage() {
  const navigate = useNavigate();
  const action = useAction();
  const create = (value: ReturnType<typeof fieldsOf>) =>
    action.run(async () => {
      const { data } = await api.post<Course>("/courses", bodyOf(value));
      navigate(`/teach/courses/${data.id}`);
    });
  return (
    <div className="card">
      <PageTitle>New course</PageTitle>
      <p className="mb-4 text-sm text-slate-600">It starts as a draft: nobody else sees it until you publish it.</p>
      <ProblemAlert problem={action.problem} />
      <CourseFields initial={fieldsOf()} submitLabel="Create course" busy={action.busy} onSubmit={create} />
    </div>
  );
}
