"""Errors about an article a person tried to add or remove, each with the HTTP status the web layer answers."""

from __future__ import annotations


class UploadError(ValueError):
    """A file or article id the assistant refuses; `str(err)` is a sentence a person can act on.

    Raised before anything is written: the index and the uploads folder are as they were."""

    status: int = 400


class UnsupportedFile(UploadError):
    """Not a format the assistant reads (an archive, an image, an executable, …), whatever its name says."""

    status = 415


class FileTooLarge(UploadError):
    status = 413


class EmptyText(UploadError):
    """Readable, but no article text in it (a scanned PDF without a text layer, a page of navigation only)."""

    status = 422


class EncryptedPdf(UploadError):
    status = 422


class MalformedFile(UploadError):
    """Damaged, hostile or too costly to read (parsing hit its time or memory limit, markup nested too deep)."""

    status = 422


class UnknownArticle(UploadError):
    status = 404


class SeedArticle(UploadError):
    """The article comes from the articles folder, not from an upload: it is removed by removing its file."""

    status = 403


class LastArticle(UploadError):
    """Removing it would leave nothing to answer from."""

    status = 409
