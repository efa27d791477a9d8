"""leasedns: an authoritative DNS server whose zone store understands leases and intent."""

__version__ = "0.1.0"
