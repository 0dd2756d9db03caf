"""An aiosmtpd handler for the survey tests: files mail in a Maildir, but
refuses recipients whose address starts with "bounce" (550), as a real
server refuses an address that does not exist."""

from aiosmtpd.handlers import Mailbox


class Bouncing(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
