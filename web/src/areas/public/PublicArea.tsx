import { Route, Routes } from "react-router";
import { CertificateVerifyPage } from "./CertificateVerifyPage";
import { CatalogPage } from "./CatalogPage";
import { CoursePage } from "./CoursePage";
import { ForgotPasswordPage, ProviderFinishPage, ResetPasswordPage, SignInPage, SignUpPage, VerifyEmailPage } from "./AuthPages";
import { NotFoundPage } from "./NotFoundPage";

export default function PublicArea() {
  return (
    <Routes>
      <Route index element={<CatalogPage />} />
      <Route path="courses/:slug" element={<CoursePage />} />
      <Route path="sign-in" element={<SignInPage />} />
      <Route path="sign-up" element={<SignUpPage />} />
      <Route path="forgot-password" element={<ForgotPasswordPage />} />
      <Route path="reset-password" element={<ResetPasswordPage />} />
      <Route path="verify-email" element={<VerifyEmailPage />} />
      <Route path="oauth/finish" element={<ProviderFinishPage />} />
      <Route path="certificates/verify/:code" element={<CertificateVerifyPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
