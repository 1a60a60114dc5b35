"""Integrated case management (통합사례관리): steps with due dates, needs, plan, linkages, conferences."""
