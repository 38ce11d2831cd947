// Short names for the generated schemas the instructor pages use.
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type CourseCreate = Schemas["CourseCreate"];
export type CourseUpdate = Schemas["CourseUpdate"];
export type Module = Schemas["ModuleRead"];
export type LessonType = Schemas["LessonType"];
export type LessonVersionSummary = Schemas["LessonVersionSummary"];
export type LessonVersion = Schemas["LessonVersionRead"];
export type QuizForStaff = Schemas["QuizForStaff"];
export type QuizIn = Schemas["QuizIn"];
export type QuestionIn = Schemas["QuestionIn"];
export type OptionIn = Schemas["OptionIn"];
export type QuestionType = Schemas["QuestionType"];
export type ShowAnswers = Schemas["ShowAnswers"];
export type Assignment = Schemas["AssignmentRead"];
export type Submission = Schemas["SubmissionRead"];
export type Gradebook = Schemas["Gradebook"];
export type RosterEntry = Schemas["RosterEntry"];
export type AttemptSummary = Schemas["AttemptSummary"];
export type AttemptDetail = Schemas["AttemptRead"];
export type QuestionResultWithKey = Schemas["QuestionResultWithKey"];
export type CourseAnalytics = Schemas["CourseAnalyticsRead"];
export type Post = Schemas["PostRead"];
export type UploadTicket = Schemas["UploadTicket"];
export type VideoUploadTicket = Schemas["VideoUploadTicket"];
export type FileRead = Schemas["FileRead"];
