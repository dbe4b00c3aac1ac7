"""RFC 4475 "SIP Torture Test Messages", as the bytes a parser receives.

Each message is written as in the RFC (section 3) with one line per line; on the wire every
line ends with CRLF (RFC 4475 s2), which :func:`_wire` adds. Non-printable bytes that the RFC
shows as ``<hex>..</hex>`` are written as escapes, ``<allOneLine>`` groups are joined, and
the SDP bodies keep the exact Content-Length the RFC gives them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Torture:
    """One RFC 4475 message: its file name in the RFC, section and title."""

    name: str
    section: str
    title: str
    data: bytes


def _wire(text: str) -> bytes:
    """The RFC's text, first newline dropped, every line ended by CRLF, UTF-8 encoded."""
    return text.removeprefix("\n").replace("\n", "\r\n").encode("utf-8")


def _sdp(o_addr: str, c_addr: str | None = None, t: str = "0 0") -> str:
    c_addr = c_addr or o_addr
    return (
        "v=0\n"
        f"o=mhandley 29739 7272939 IN IP4 {o_addr}\n"
        "s=-\n"
        f"c=IN IP4 {c_addr}\n"
        f"t={t}\n"
        "m=audio 49217 RTP/AVP 0 12\n"
        "m=video 3227 RTP/AVP 31\n"
        "a=rtpmap:31 LPC\n"
    )


# --- 3.1.1 Valid messages ---------------------------------------------------------------

WSINV = Torture(
    "wsinv",
    "3.1.1.1",
    "A Short Tortuous INVITE",
    _wire(
        r'''
INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

'''
        + _sdp("192.0.2.3", "192.0.2.4")
    ),
)

_INTMETH_URI = (
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    ":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"
)
INTMETH = Torture(
    "intmeth",
    "3.1.1.2",
    "Wide Range of Valid Characters",
    _wire(
        "!interesting-Method0123456789_*+`.%indeed'~ " + _INTMETH_URI + " SIP/2.0\n"
        "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
        'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" '
        "<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\n"
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
        ";fromParam''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439\""
        ";tag=_token~1'+`*%!-.\n"
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
        "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\n"
        "Max-Forwards: 255\n"
        "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb\n"
        "Content-Length: 0\n"
        "\n"
    ),
)

ESC01 = Torture(
    "esc01",
    "3.1.1.3",
    "Valid Use of the % Escaping Mechanism",
    _wire(
        """
INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

"""
        + _sdp("192.0.2.1")
    ),
)

ESCNULL = Torture(
    "escnull",
    "3.1.1.4",
    "Escaped Nulls in URIs",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

"""
    ),
)

ESC02 = Torture(
    "esc02",
    "3.1.1.5",
    "Use of % When It Is Not an Escape",
    _wire(
        """
RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

"""
    ),
)

LWSDISP = Torture(
    "lwsdisp",
    "3.1.1.6",
    "Message with No LWS between Display Name and <",
    _wire(
        """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

"""
    ),
)

_LONG = "long" * 20
_LONGREQ_VIAS = "".join(
    f"{name}SIP/2.0/TCP sip{n}.example.com\n"
    for name, n in [
        ("Via: ", 33), ("v: ", 32), ("V: ", 31), ("Via: ", 30), ("ViA: ", 29), ("VIa: ", 28),
        ("VIA: ", 27), ("via: ", 26), ("viA: ", 25), ("vIa: ", 24), ("vIA: ", 23),
        ("V :  ", 22), ("v :  ", 21), ("V  : ", 20), ("v  : ", 19), ("Via : ", 18),
        ("Via  : ", 17),
        *(("Via: ", n) for n in range(16, 0, -1)),
    ]
)
LONGREQ = Torture(
    "longreq",
    "3.1.1.7",
    "Long Values in Header Fields",
    _wire(
        "\nINVITE sip:user@example.com SIP/2.0\n"
        'To: "I have a user name of ' + "extreme" * 10 + ' proportion"<sip:user@example.com:6000;'
        "unknownparam1=very" + _LONG + "value;longparam" + "name" * 25 + "=shortvalue;"
        "very" + "long" * 25 + "ParameterNameWithNoValue>\n"
        "F: sip:" + "amazinglylongcallername" * 5 + "@example.net;tag=12" + "982" * 50 + "424"
        ";unknownheaderparam" + "name" * 20 + "=unknowheaderparam" + "value" * 15 + ""
        ";unknownValueless" + "paramname" * 10 + "\n"
        "Call-ID: longreq.one" + "really" * 20 + "longcallid\n"
        "CSeq: 3882340 INVITE\n"
        "Unknown-" + "Long" * 20 + "-Name: unknown-" + _LONG + "-value; unknown-" + _LONG
        + "-parameter-name = unknown-" + _LONG + "-parameter-value\n"
        + _LONGREQ_VIAS
        + "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very" + "long" * 50
        + "branchvalue\n"
        "Max-Forwards: 70\n"
        "Contact: <sip:" + "amazinglylongcallername" * 5 + "@host5.example.net>\n"
        "Content-Type: application/sdp\n"
        "l: 150\n"
        "\n" + _sdp("192.0.2.1")
    ),
)

DBLREQ = Torture(
    "dblreq",
    "3.1.1.8",
    "Extra Trailing Octets in a UDP Datagram",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0


INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.15
s=-
c=IN IP4 192.0.2.15
t=0 0
m=audio 49217 RTP/AVP 0 12
m =video 3227 RTP/AVP 31
a=rtpmap:31 LPC

"""
    ),
)

SEMIURI = Torture(
    "semiuri",
    "3.1.1.9",
    "Semicolon-Separated Parameters in URI User Part",
    _wire(
        """
OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

"""
    ),
)

TRANSPORTS = Torture(
    "transports",
    "3.1.1.10",
    "Varied and Unknown Transport Types",
    _wire(
        """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

"""
    ),
)

# The S/MIME part of mpart01 is DER (a PKCS#7 signedData, 342 bytes) with NUL, CR and LF in it.
MPART01_DER = bytes.fromhex(
    "3082015206092a864886f70d010702a08201433082013f020101310930070605"
    "2b0e03021a300b06092a864886f70d010701318201203082011c020101307c30"
    "70310b3009060355040613025553311330110603550408130a43616c69666f72"
    "6e69613111300f0603550407130853616e204a6f7365310e300c060355040a13"
    "05736970697431293027060355040b1320536970697420546573742043657274"
    "6966696361746520417574686f7269747902080195007102330113300706052b"
    "0e03021a300d06092a864886f70d01010105000481808ef466f948f0522dd2e5"
    "978e9d95aae9f2fe15a06659716292e8da2aa8d8350a68ceffae3cbd2bff1675"
    "ddd5648e593dd64728f26220f7e941749e330d9a15edabdb93d10c42102e7b72"
    "89d29cc0c9ae2efbc7c0cff9172f3b027e4fc027e1546de4b6aa3abb3e66cccb"
    "5dd6c64b8383149cb8e6ff182d944fe57b65bc99d005"
)
MPART01_BODY = (
    _wire(
        """
--7a9cbec02ceef655
Content-Type: text/plain
Content-Transfer-Encoding: binary

Hello
--7a9cbec02ceef655
Content-Type: application/octet-stream
Content-Transfer-Encoding: binary

"""
    )
    + MPART01_DER
    + b"\r\n--7a9cbec02ceef655--\r\n"
)
MPART01 = Torture(
    "mpart01",
    "3.1.1.11",
    "Multipart MIME Message",
    _wire(
        """
MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=7a9cbec02ceef655
Date: Sat, 15 Oct 2005 04:44:56 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
Content-Length: 553

"""
    )
    + MPART01_BODY,
)

# "= 2**3 * 5**2 no sto devyanosto devyat' - prostoe" (199 is prime), UTF-8 in the phrase.
UNREASON_PHRASE = "= 2**3 * 5**2 но сто девяносто девять - простое"
UNREASON = Torture(
    "unreason",
    "3.1.1.12",
    "Unusual Reason Phrase",
    _wire(
        "\nSIP/2.0 200 "
        + UNREASON_PHRASE
        + """
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

"""
        + _sdp("192.0.2.198")
    ),
)

NOREASON = Torture(
    "noreason",
    "3.1.1.13",
    "Empty Reason Phrase",
    _wire(
        # The SP after the status code is present (RFC 4475: "<hex>20</hex>").
        "\nSIP/2.0 100\x20"
        + """
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

"""
    ),
)

VALID = (
    WSINV, INTMETH, ESC01, ESCNULL, ESC02, LWSDISP, LONGREQ, DBLREQ, SEMIURI, TRANSPORTS,
    MPART01, UNREASON, NOREASON,
)

# --- 3.1.2 Invalid messages -------------------------------------------------------------

BADINV01 = Torture(
    "badinv01",
    "3.1.2.1",
    "Extraneous Header Field Separators",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: "Joe" <sip:joe@example.org>;;;;
Content-Length: 152
Content-Type: application/sdp

"""
        + _sdp("192.0.2.15")
    ),
)

CLERR = Torture(
    "clerr",
    "3.1.2.2",
    "Content Length Larger Than Message",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

"""
        + _sdp("192.0.2.155")
    ),
)

NCL = Torture(
    "ncl",
    "3.1.2.3",
    "Negative Content-Length",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

"""
        + _sdp("192.0.2.53")
    ),
)

SCALAR02 = Torture(
    "scalar02",
    "3.1.2.4",
    "Request Scalar Fields with Overlarge Values",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1"""
        + "0" * 100
        + """
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0

"""
    ),
)

SCALARLG = Torture(
    "scalarlg",
    "3.1.2.5",
    "Response Scalar Fields with Overlarge Values",
    _wire(
        """
SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0

"""
    ),
)

QUOTBAL = Torture(
    "quotbal",
    "3.1.2.6",
    "Unterminated Quoted String in Display Name",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
To: "Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 152

"""
        + _sdp("192.0.2.15")
    ),
)

LTGTRURI = Torture(
    "ltgtruri",
    "3.1.2.7",
    "<> Enclosing Request-URI",
    _wire(
        """
INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 159

"""
        + _sdp("192.0.2.5", t="3149328700 0")
    ),
)

LWSRURI = Torture(
    "lwsruri",
    "3.1.2.8",
    "Malformed SIP Request-URI (embedded LWS)",
    _wire(
        """
INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 159

"""
        + _sdp("192.0.2.1", t="3149328700 0")
    ),
)

LWSSTART = Torture(
    "lwsstart",
    "3.1.2.9",
    "Multiple SP Separating Request-Line Elements",
    _wire(
        """
INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 150

"""
        + _sdp("192.0.2.1")
    ),
)

TRWS = Torture(
    "trws",
    "3.1.2.10",
    "SP Characters at End of Request-Line",
    _wire(
        # Two SP after the version (RFC 4475: "SIP/2.0<hex>2020</hex>").
        "\nOPTIONS sip:remote-target@example.com SIP/2.0\x20\x20"
        + """
Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0

"""
    ),
)

ESCRURI = Torture(
    "escruri",
    "3.1.2.11",
    "Escaped Headers in SIP Request-URI",
    _wire(
        """
INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: 150

"""
        + _sdp("192.0.2.1")
    ),
)

BADDATE = Torture(
    "baddate",
    "3.1.2.12",
    "Invalid Time Zone in Date Header Field",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

"""
        + _sdp("192.0.2.5")
    ),
)

REGBADCT = Torture(
    "regbadct",
    "3.1.2.13",
    "Failure to Enclose name-addr URI in <>",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

"""
    ),
)

BADASPEC = Torture(
    "badaspec",
    "3.1.2.14",
    "Spaces within addr-spec",
    _wire(
        """
OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

"""
    ),
)

BADDN = Torture(
    "baddn",
    "3.1.2.15",
    "Non-token Characters in Display Name",
    _wire(
        """
OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

"""
    ),
)

BADVERS = Torture(
    "badvers",
    "3.1.2.16",
    "Unknown Protocol Version",
    _wire(
        """
OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

"""
    ),
)

MISMATCH01 = Torture(
    "mismatch01",
    "3.1.2.17",
    "Start Line and CSeq Method Mismatch",
    _wire(
        """
OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

"""
    ),
)

MISMATCH02 = Torture(
    "mismatch02",
    "3.1.2.18",
    "Unknown Method with CSeq Method Mismatch",
    _wire(
        """
NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: 138

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
c=IN IP4 192.0.2.1
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
"""
    ),
)

BIGCODE = Torture(
    "bigcode",
    "3.1.2.19",
    "Overlarge Response Code",
    _wire(
        """
SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

"""
    ),
)

INVALID = (
    BADINV01, CLERR, NCL, SCALAR02, SCALARLG, QUOTBAL, LTGTRURI, LWSRURI, LWSSTART, TRWS,
    ESCRURI, BADDATE, REGBADCT, BADASPEC, BADDN, BADVERS, MISMATCH01, MISMATCH02, BIGCODE,
)

# --- 3.2 Transaction layer, 3.3 application layer, 3.4 backward compatibility -----------

BADBRANCH = Torture(
    "badbranch",
    "3.2.1",
    "Missing Transaction Identifier",
    _wire(
        """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0

"""
    ),
)

INSUF = Torture(
    "insuf",
    "3.3.1",
    "Missing Required Header Fields",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 152

"""
        + _sdp("192.0.2.95")
    ),
)

UNKSCM = Torture(
    "unkscm",
    "3.3.2",
    "Request-URI with Unknown Scheme",
    _wire(
        """
OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

"""
    ),
)

NOVELSC = Torture(
    "novelsc",
    "3.3.3",
    "Request-URI with Known but Atypical Scheme",
    _wire(
        """
OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

"""
    ),
)

UNKSM2 = Torture(
    "unksm2",
    "3.3.4",
    "Unknown URI Schemes in Header Fields",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

"""
    ),
)

BEXT01 = Torture(
    "bext01",
    "3.3.5",
    "Proxy-Require and Require",
    _wire(
        """
OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: 0

"""
    ),
)

INVUT = Torture(
    "invut",
    "3.3.6",
    "Unknown Content-Type",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: 40

<audio>
 <pcmu port="443"/>
</audio>
"""
    ),
)

REGAUT01 = Torture(
    "regaut01",
    "3.3.7",
    "Unknown Authorization Scheme",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:0

"""
    ),
)

MULTI01 = Torture(
    "multi01",
    "3.3.8",
    "Multiple Values in Single Value Required Fields",
    _wire(
        """
INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 154
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5

"""
        + _sdp("192.0.2.25")
        + "\n"
    ),
)

MCL01 = Torture(
    "mcl01",
    "3.3.9",
    "Multiple Content-Length Values",
    _wire(
        """
OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
"""
    ),
)

BCAST = Torture(
    "bcast",
    "3.3.10",
    "200 OK Response with Broadcast Via Header Field Value",
    _wire(
        """
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23
Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host28.example.com>

"""
        + _sdp("192.0.2.198")
    ),
)

CPARAM01 = Torture(
    "cparam01",
    "3.3.12",
    "REGISTER with a Contact Header Parameter",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0

"""
    ),
)

CPARAM02 = Torture(
    "cparam02",
    "3.3.13",
    "REGISTER with a url-parameter",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0

"""
    ),
)

REGESCRT = Torture(
    "regescrt",
    "3.3.14",
    "REGISTER with a URL Escaped Header",
    _wire(
        """
REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0

"""
    ),
)

SDP01 = Torture(
    "sdp01",
    "3.3.15",
    "Unacceptable Accept Offering",
    _wire(
        """
INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw
Content-Length: 150
Content-Type: application/sdp

"""
        + _sdp("192.0.2.5")
    ),
)

INV2543 = Torture(
    "inv2543",
    "3.4.1",
    "INVITE with RFC 2543 Syntax",
    _wire(
        """
INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
"""
    ),
)

SEMANTIC = (
    BADBRANCH, INSUF, UNKSCM, NOVELSC, UNKSM2, BEXT01, INVUT, REGAUT01, MULTI01, MCL01, BCAST,
    CPARAM01, CPARAM02, REGESCRT, SDP01, INV2543,
)
ALL = (*VALID, *INVALID, *SEMANTIC)
