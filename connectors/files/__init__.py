"""The data directory connector; its one module is split up in the next commit."""

from connectors.files.calendar import (
    FilesCalendar,
    FilesDirectory,
    FilesMail,
    FilesSender,
    _simple_weekly,
    build,
    digest_filename,
    open_directory,
    parse_working_hours,
)

__all__ = ["FilesCalendar", "FilesDirectory", "FilesMail", "FilesSender", "_simple_weekly", "build",
           "digest_filename", "open_directory", "parse_working_hours"]
