import { Link } from "react-router";
import { PageTitle } from "../../components/states";

export function NotFoundPage() {
  return (
    <div>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is no page at this address. <Link className="link" to="/">Browse the catalog</Link>.
      </p>
    </div>
  );
}
