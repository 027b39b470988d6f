"""Federated training on Flower: the same emolab models, trained across schools without moving data."""

from .core import FederatedConfig, FederatedResult, federate, load_client_data, make_client, run_client, run_server, save_client_data
from .partition import check_partition, dirichlet_partition, group_partition, natural_partition

__all__ = ["FederatedConfig", "FederatedResult", "check_partition", "dirichlet_partition", "federate", "group_partition",
           "load_client_data", "make_client", "natural_partition", "run_client", "run_server", "save_client_data"]
