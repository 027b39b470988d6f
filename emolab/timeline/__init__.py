"""Per-student emotion timelines of lesson recordings, summaries, alerts and reports."""

from .alerts import AlertConfig, find_alerts
from .analysis import analyze_lesson
from .result import AnalysisConfig, LessonAnalysis
from .io import load_analysis, write_analysis
from .smoothing import ema, hmm_smooth, smooth, viterbi
from .summary import class_over_time, class_summary, readability_summary, student_table, valence_summary

__all__ = ["AlertConfig", "AnalysisConfig", "LessonAnalysis", "analyze_lesson", "class_over_time", "class_summary", "ema",
           "find_alerts", "hmm_smooth", "load_analysis", "readability_summary", "write_analysis", "smooth", "student_table", "valence_summary", "viterbi"]
