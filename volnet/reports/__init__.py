"""The dong's reports: aggregated figures per period, charts, CSV and print."""
