"""Activities: the only code that does I/O. One module per outside system."""

from activities.attachments import AttachmentActivities
from activities.directory import DirectoryActivities
from activities.notifications import NotificationActivities
from activities.tracker import LogSharingActivities, TrackerActivities

__all__ = [
    "AttachmentActivities",
    "DirectoryActivities",
    "LogSharingActivities",
    "NotificationActivities",
    "TrackerActivities",
]
