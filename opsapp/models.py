"""Every table of the application, imported in one place so Alembic sees the whole schema."""

from opsapp.accounts.models import (  # noqa: F401
    AccountToken,
    Membership,
    Organisation,
    OwnershipLink,
    RecoveryCode,
    S3Domain,
    User,
    UserRole,
    UserSession,
)
from opsapp.calls.models import (  # noqa: F401
    Answer,
    Application,
    Assignment,
    Call,
    CallReminder,
    Consensus,
    Criterion,
    Edition,
    EvaluatorProfile,
    Obligation,
    Programme,
    Question,
    Score,
)
from opsapp.cohorts.models import (  # noqa: F401
    Attendance,
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    InvestorIntroduction,
    MentorConflict,
    MentorProfile,
    Mentorship,
    Milestone,
    Need,
    ObligationReminder,
    Seal,
    SessionNote,
)
from opsapp.core.models import AuditEntry, JobRun, Notification, StoredFile  # noqa: F401
from opsapp.events.models import (  # noqa: F401
    Event,
    EventSlot,
    Favourite,
    Meeting,
    MeetingOutcome,
    MeetingRequest,
    OutcomeFollowUp,
    Participant,
    ScheduleRun,
    SupplyContract,
    TrainingAttendance,
    TrainingSession,
)
from opsapp.kpi.models import (  # noqa: F401
    ApiToken,
    DashboardVisit,
    FollowUp,
    IndicatorTarget,
    MonitoringReport,
    Survey,
)
from opsapp.vouchers.models import (  # noqa: F401
    CostCategory,
    DeclaredAid,
    ExpenseLine,
    Voucher,
    VoucherScheme,
)
