"""The interactive layer of emolab (ipywidgets): used by the notebooks and the Voila dashboards.

It composes the headless ``emolab`` package and holds no analysis logic of its own. Charts are
rendered offline (inline SVG through vl-convert), so everything works without internet access.
"""

from .common import Progress, chart_widget, device_badge, download_link, image_widget, setup_notebook
from .explorers import DatasetExplorer, SmoteExplorer, TrainingMonitor
from .lesson import LessonDashboard, TimelineExplorer
from .pipeline import FederatedMonitor, PreprocessingViewer
from .training import TrainingDashboard

__all__ = ["FederatedMonitor", "PreprocessingViewer", "DatasetExplorer", "LessonDashboard", "Progress", "SmoteExplorer", "TimelineExplorer", "TrainingDashboard", "TrainingMonitor", "chart_widget",
           "device_badge", "download_link", "image_widget", "setup_notebook"]
