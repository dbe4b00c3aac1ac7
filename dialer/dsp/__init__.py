"""Signal processing on decoded call audio, without I/O.

* :mod:`dialer.dsp.tones`     DTMF keypad frequencies, dBm0 levels, an in-band tone generator
* :mod:`dialer.dsp.goertzel`  in-band DTMF receiver (Goertzel bins, streaming, ITU-T Q.24)
* :mod:`dialer.dsp.digits`    one digit stream per call from RFC 4733 events and in-band tones
"""
