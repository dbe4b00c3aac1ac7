"""SIP transaction timers (RFC 3261 s17, Table 4 in Appendix A; RFC 6026 s8.4 and s8.7).

All values are seconds, derived from the three base values. The dialer speaks UDP, so the
"unreliable transport" column of Table 4 applies.

=======  =====================  ==========================================================
timer    value (UDP)            meaning
=======  =====================  ==========================================================
T1       0.5 s                  RTT estimate (s17.1.1.1)
T2       4 s                    maximum retransmit interval for non-INVITE and for
                                INVITE responses (s17.1.2.2)
T4       5 s                    maximum duration a message stays in the network
A        T1, doubling           INVITE request retransmit interval (s17.1.1.2)
B        64*T1                  INVITE client transaction timeout (s17.1.1.2)
D        32 s (> 32 s)          wait time for response retransmits after ACK (s17.1.1.2)
E        T1, doubling up to T2  non-INVITE request retransmit interval (s17.1.2.2)
F        64*T1                  non-INVITE client transaction timeout (s17.1.2.2)
G        T1, doubling up to T2  INVITE final response retransmit interval (s17.2.1)
H        64*T1                  wait time for ACK receipt (s17.2.1)
I        T4                     wait time for ACK retransmits (s17.2.1)
J        64*T1                  wait time for non-INVITE request retransmits (s17.2.2)
K        T4                     wait time for response retransmits (s17.1.2.2)
L        64*T1                  wait time for accepted INVITE request retransmits
                                (RFC 6026 s8.7, server Accepted state)
M        64*T1                  wait time for retransmission of 2xx to INVITE or
                                additional 2xx from other branches (RFC 6026 s8.4,
                                client Accepted state)
=======  =====================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.errors import ConfigError

# RFC 3261 s17.1.1.2: "Timer D ... at least 32 seconds for unreliable transports".
TIMER_D_UDP = 32.0


@dataclass(frozen=True)
class TimerConfig:
    """The base timer values T1, T2 and T4 (RFC 3261 s17.1.1.1, s17.1.2.2, Table 4)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        if not (self.t1 > 0 and self.t2 >= self.t1 and self.t4 > 0):
            raise ConfigError(f"SIP timers need 0 < T1 <= T2 and T4 > 0, got {self}")

    @property
    def timer_a(self) -> float:
        """Initial INVITE retransmit interval (s17.1.1.2); doubles each time."""
        return self.t1

    @property
    def timer_b(self) -> float:
        """INVITE client transaction timeout, 64*T1 (s17.1.1.2)."""
        return 64 * self.t1

    @property
    def timer_d(self) -> float:
        """Completed client INVITE waits for retransmitted finals: 32 s on UDP (s17.1.1.2)."""
        return TIMER_D_UDP

    @property
    def timer_e(self) -> float:
        """Initial non-INVITE retransmit interval (s17.1.2.2); doubles up to T2."""
        return self.t1

    @property
    def timer_f(self) -> float:
        """Non-INVITE client transaction timeout, 64*T1 (s17.1.2.2)."""
        return 64 * self.t1

    @property
    def timer_g(self) -> float:
        """Initial INVITE final response retransmit interval (s17.2.1); doubles up to T2."""
        return self.t1

    @property
    def timer_h(self) -> float:
        """Server INVITE waits for the ACK, 64*T1 (s17.2.1)."""
        return 64 * self.t1

    @property
    def timer_i(self) -> float:
        """Confirmed server INVITE absorbs ACK retransmissions for T4 (s17.2.1)."""
        return self.t4

    @property
    def timer_j(self) -> float:
        """Completed server non-INVITE absorbs request retransmissions, 64*T1 (s17.2.2)."""
        return 64 * self.t1

    @property
    def timer_k(self) -> float:
        """Completed client non-INVITE absorbs response retransmissions for T4 (s17.1.2.2)."""
        return self.t4

    @property
    def timer_l(self) -> float:
        """Accepted server INVITE absorbs INVITE retransmissions, 64*T1 (RFC 6026 s8.7)."""
        return 64 * self.t1

    @property
    def timer_m(self) -> float:
        """Accepted client INVITE forwards 2xx retransmissions, 64*T1 (RFC 6026 s8.4)."""
        return 64 * self.t1
