"""Imports every model module so that `Base.metadata` is complete (Alembic, tests)."""

from studyhall.analytics import models as _analytics_models  # noqa: F401
from studyhall.assessment import models as _assessment_models  # noqa: F401
from studyhall.catalog import models as _catalog_models  # noqa: F401
from studyhall.certificates import models as _certificates_models  # noqa: F401
from studyhall.community import models as _community_models  # noqa: F401
from studyhall.core import delivery as _core_delivery  # noqa: F401
from studyhall.core import events as _core_events  # noqa: F401
from studyhall.core.db import Base
from studyhall.identity import models as _identity_models  # noqa: F401
from studyhall.learning import models as _learning_models  # noqa: F401
from studyhall.media import models as _media_models  # noqa: F401
from studyhall.notifications import models as _notifications_models  # noqa: F401

metadata = Base.metadata
