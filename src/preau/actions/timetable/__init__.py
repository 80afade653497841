"""The timetable: lessons, one-off changes, holidays, week views and calendar feeds."""
