"""The contact registry: who tried to reach a citizen (`store`, `registry`), what agents may learn of it
(`disclosure`), the offer to a citizen who calls back (`returning`), the SMS gateway's pre-call notice
(`precall`) and the periodic purge (`purge`). See docs/privacy-and-caller-id.md."""
