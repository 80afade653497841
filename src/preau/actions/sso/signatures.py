"""SAML signatures checked in this process (python-xmlsec, libxmlsec1's bindings) instead of
one ``xmlsec1`` process per check: pysaml2's crypto backend for Préau. docs/sso.md.

Each check keeps the rules of ``xmlsec1 --verify`` as pysaml2 runs it, and adds some: the
node is found by its ``ID`` among the elements of the given name and must be the only one
with that id; only the Signature that is its own child is verified; that Signature has
exactly one Reference, to the node itself (``#id``, or the empty URI for the whole
document), and any other URI is refused before anything is verified; the key is the
certificate given (from the identity provider's metadata), never one the document carries.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import xmlsec
from lxml import etree
from saml2.sigver import (
    CryptoBackendXmlSec1,
    DecryptError,
    RSACrypto,
    SecurityContext,
    SignatureError,
    import_rsa_key_from_file,
)

log = logging.getLogger("preau.sso")

DSIG = xmlsec.constants.DSigNs
XMLENC = xmlsec.constants.EncNs

# What a SAML signature may use (SAML core 5.4): the enveloped-signature transform and
# canonicalizations on the reference; RSA or ECDSA with SHA-1/2 for the signature. The
# XPath, XSLT and XPointer transforms (which could read elsewhere) are refused.
CANONICALIZATIONS = (
    xmlsec.constants.TransformExclC14N,
    xmlsec.constants.TransformExclC14NWithComments,
    xmlsec.constants.TransformInclC14N,
    xmlsec.constants.TransformInclC14NWithComments,
    xmlsec.constants.TransformInclC14N11,
    xmlsec.constants.TransformInclC14N11WithComments,
)
REFERENCE_TRANSFORMS = (
    xmlsec.constants.TransformEnveloped,
    *CANONICALIZATIONS,
    xmlsec.constants.TransformSha1,
    xmlsec.constants.TransformSha224,
    xmlsec.constants.TransformSha256,
    xmlsec.constants.TransformSha384,
    xmlsec.constants.TransformSha512,
)
SIGNATURE_TRANSFORMS = (
    *CANONICALIZATIONS,
    xmlsec.constants.TransformRsaSha1,
    xmlsec.constants.TransformRsaSha224,
    xmlsec.constants.TransformRsaSha256,
    xmlsec.constants.TransformRsaSha384,
    xmlsec.constants.TransformRsaSha512,
    xmlsec.constants.TransformEcdsaSha1,
    xmlsec.constants.TransformEcdsaSha224,
    xmlsec.constants.TransformEcdsaSha256,
    xmlsec.constants.TransformEcdsaSha384,
    xmlsec.constants.TransformEcdsaSha512,
)

# The attributes an element is found by (xml:id always is, for libxml2): one id, one element.
ID_ATTRIBUTES = ("ID", "Id", "id", "{http://www.w3.org/XML/1998/namespace}id")

# libxmlsec reads a Reference's URI through its own input callbacks (files, http): none is
# left, so even a URI that got past the checks below could not be read.
xmlsec.cleanup_callbacks()


class InProcessCrypto(CryptoBackendXmlSec1):  # type: ignore[misc]  # pysaml2 has no types
    """pysaml2's xmlsec1 backend with its signing, checking and decrypting done here.

    Encrypting (what an identity provider does) is left to the parent's ``xmlsec1``:
    Préau never encrypts."""

    def __init__(self, xmlsec_binary: str = "/usr/bin/xmlsec1") -> None:
        super().__init__(xmlsec_binary)

    @property
    def version(self) -> str:
        version: tuple[int, int, int] = xmlsec.get_libxmlsec_version()  # type: ignore[attr-defined]  # missing from its stubs
        return ".".join(str(part) for part in version)

    def validate_signature(
        self,
        signedtext: str | bytes,
        cert_file: str,
        cert_type: str,
        node_name: str,
        node_id: str | None,
    ) -> bool:
        """True when the node's own signature is good under ``cert_file``; otherwise
        ``SignatureError`` (pysaml2 then tries the issuer's next certificate)."""
        if cert_type != "pem":
            raise SignatureError(f"certificate type {cert_type!r}: only PEM is read")
        root = _parse(signedtext)
        node = _signed_node(root, node_name, node_id)
        signature = _own_signature(node)
        _check_reference(signature, node, root)
        context = xmlsec.SignatureContext()
        _register_id(context, node)
        for transform in REFERENCE_TRANSFORMS:
            context.enable_reference_transform(transform)
        for transform in SIGNATURE_TRANSFORMS:
            context.enable_signature_transform(transform)
        # With a key set, libxmlsec does not read the document's KeyInfo at all.
        context.key = _certificate_key(Path(cert_file).read_bytes())
        try:
            context.verify(signature)
        except xmlsec.Error as error:
            raise SignatureError(f"signature of {node_name} {node_id}: {error}") from None
        return True

    def sign_statement(
        self, statement: Any, node_name: str, key_file: str, node_id: str | None
    ) -> str:
        """The statement with the Signature template of its ``node_id`` node filled in."""
        root = _parse(str(statement))
        node = _signed_node(root, node_name, node_id)
        signature = _own_signature(node)
        context = xmlsec.SignatureContext()
        _register_id(context, node)
        context.key = _private_key(key_file)
        try:
            context.sign(signature)
        except xmlsec.Error as error:
            raise SignatureError(f"signing {node_name} {node_id}: {error}") from None
        return str(etree.tostring(root, encoding="unicode"))

    def decrypt(self, enctext: str | bytes, key_file: str) -> str:
        """The document with its first EncryptedData replaced by what it hides, the
        session key in its EncryptedKey opened with ``key_file`` (as ``xmlsec1
        --decrypt`` does)."""
        root = _parse(enctext)
        encrypted = root.find(f".//{{{XMLENC}}}EncryptedData")
        if encrypted is None:
            raise DecryptError("no EncryptedData to decrypt")
        manager = xmlsec.KeysManager()
        manager.add_key(_private_key(key_file))
        context = xmlsec.EncryptionContext(manager)
        try:
            context.decrypt(encrypted)
        except xmlsec.Error as error:
            raise DecryptError(f"decrypting: {error}") from None
        return str(etree.tostring(root, encoding="unicode"))


def security_context(config: Any) -> SecurityContext:
    """What ``saml2.sigver.security_context`` builds from a pysaml2 config, with the
    in-process backend: no ``xmlsec1`` needed. The redirect binding's signatures (of the
    query string) are the RSA key's, in process as before."""
    key_file = config.getattr("key_file", "")
    encryption_keypairs = config.encryption_keypairs or []
    return SecurityContext(
        InProcessCrypto(),
        config.key_file,
        cert_file=config.cert_file,
        metadata=config.metadata,
        only_use_keys_in_metadata=config.only_use_keys_in_metadata,
        cert_handler_extra_class=config.cert_handler_extra_class,
        generate_cert_info=config.generate_cert_info,
        tmp_cert_file=config.tmp_cert_file,
        tmp_key_file=config.tmp_key_file,
        validate_certificate=config.validate_certificate,
        enc_key_files=[pair["key_file"] for pair in encryption_keypairs if "key_file" in pair],
        encryption_keypairs=config.encryption_keypairs,
        sec_backend=RSACrypto(import_rsa_key_from_file(key_file)) if key_file else None,
        delete_tmpfiles=config.delete_tmpfiles,
    )


def _parse(text: str | bytes) -> Any:
    data = text.encode() if isinstance(text, str) else text
    try:
        # No entity is expanded, nothing is fetched, blank text and comments are kept (the
        # canonical form that was signed has them). One parser per call: threads share none.
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, collect_ids=False
        )
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise SignatureError(f"unreadable XML: {error}") from None
    # A DTD could declare other attributes as IDs, so that ``#id`` means another element.
    if root.getroottree().docinfo.internalDTD is not None:
        raise SignatureError("a document with a DTD is refused")
    return root


def _signed_node(root: Any, node_name: str, node_id: str | None) -> Any:
    """The one ``node_name`` element (``namespace:LocalName``) whose ID is ``node_id``,
    or the root when no id is given."""
    namespace, _, local_name = node_name.rpartition(":")
    tag = f"{{{namespace}}}{local_name}"
    if node_id is None:
        if root.tag != tag:
            raise SignatureError(f"the document is no {node_name}")
        return root
    found = [element for element in root.iter(tag) if element.get("ID") == node_id]
    if len(found) != 1:
        # None, or two elements with one id: which one a Reference means is ambiguous,
        # the way signature-wrapping attacks hide an unsigned copy.
        raise SignatureError(f"{len(found)} {node_name} elements with the ID {node_id!r}")
    duplicates = [
        element
        for element in root.iter()
        if element is not found[0] and any(element.get(name) == node_id for name in ID_ATTRIBUTES)
    ]
    if duplicates:
        raise SignatureError(f"another element carries the ID {node_id!r}")
    return found[0]


def _own_signature(node: Any) -> Any:
    signatures = node.findall(f"{{{DSIG}}}Signature")
    if len(signatures) != 1:
        raise SignatureError(f"{len(signatures)} signatures on the node (one expected)")
    return signatures[0]


def _check_reference(signature: Any, node: Any, root: Any) -> None:
    """Exactly one Reference, to this node: ``#its id``, or ``""`` when it is the root.
    Checked before libxmlsec sees it, which would follow any URI it may read."""
    references = signature.findall(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    if len(references) != 1:
        raise SignatureError(f"{len(references)} references in the signature (one expected)")
    uri = references[0].get("URI")
    node_id = node.get("ID")
    if uri == "" and node is root:
        return
    if uri is None or uri != f"#{node_id}" or not node_id:
        raise SignatureError(f"reference {uri!r} is not to the signed node {node_id!r}")


def _register_id(context: xmlsec.SignatureContext, node: Any) -> None:
    if node.get("ID") is not None:
        try:
            context.register_id(node, "ID")
        except xmlsec.Error as error:
            raise SignatureError(f"the ID of the signed node: {error}") from None


@functools.lru_cache(maxsize=64)
def _certificate_key(pem: bytes) -> xmlsec.Key:
    """The public key of a PEM certificate; pysaml2 writes each metadata certificate to a
    new temporary file for every check, so the cache is on the content."""
    try:
        return xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem)
    except xmlsec.Error as error:
        raise SignatureError(f"unreadable certificate: {error}") from None


def _private_key(key_file: str) -> xmlsec.Key:
    try:
        return xmlsec.Key.from_memory(
            Path(key_file).read_bytes(), xmlsec.constants.KeyDataFormatPem
        )
    except (OSError, xmlsec.Error) as error:
        raise SignatureError(f"unreadable private key {key_file}: {error}") from None
