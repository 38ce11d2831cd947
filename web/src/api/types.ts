// Names for the generated OpenAPI types (schema.d.ts, from `studyhall openapi`).
import type { components } from "./schema";

type Schemas = components["schemas"];
export type User = Schemas["UserRead"];
export type TokenPair = Schemas["TokenPair"];
export type Course = Schemas["CourseRead"];
export type CourseDetail = Schemas["CourseDetail"];
export type LessonOutline = Schemas["LessonOutline"];
export type Lesson = Schemas["LessonRead"];
export type MyEnrollment = Schemas["MyEnrollmentRead"];
export type ContinueItem = Schemas["ContinueItem"];
export type CourseProgress = Schemas["CourseProgressRead"];
export type QuizForStudent = Schemas["QuizForStudent"];
export type Question = Schemas["QuestionRead"];
export type AttemptStarted = Schemas["AttemptStarted"];
export type AttemptResult = Schemas["AttemptResult"];
export type AttemptSummary = Schemas["AttemptSummary"];
export type Certificate = Schemas["CertificateRead"];
export type CertificateVerification = Schemas["CertificateVerification"];
export type Notification = Schemas["NotificationRead"];
export type NotificationPage = Schemas["NotificationPage"];
export type Playback = Schemas["PlaybackRead"];
export type Problem = Schemas["Problem"];
export type CourseLevel = Schemas["CourseLevel"];
export type CatalogSort = Schemas["CatalogSort"];

/** The list envelope every paginated route answers. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export type Assignment = Schemas["AssignmentRead"];
export type Submission = Schemas["SubmissionRead"];
export type UploadTicket = Schemas["UploadTicket"];
export type FileInfo = Schemas["FileRead"];
export type MyGrades = Schemas["MyGrades"];
export type MyGradeItem = Schemas["MyGradeItem"];
export type NotificationPreferences = Schemas["NotificationPreferences"];
export type Post = Schemas["PostRead"];
export type Comment = Schemas["CommentRead"];
export type ChatMessage = Schemas["ChatMessageRead"];
export type ChatPage = Schemas["ChatPage"];
export type Organization = Schemas["OrganizationRead"];
export type MemberAddResult = Schemas["MemberAddResult"];
export type OrganizationAnalytics = Schemas["OrganizationAnalyticsRead"];
export type AuditLogEntry = Schemas["AuditLogRead"];
export type Role = Schemas["Role"];
export type Invitation = Schemas["InvitationRead"];
