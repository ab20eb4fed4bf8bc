"""Contains all the data models used in inputs/outputs"""

from .account_in import AccountIn
from .account_out import AccountOut
from .author_out import AuthorOut
from .health import Health
from .json_web_key import JsonWebKey
from .json_web_key_set import JsonWebKeySet
from .logout_form import LogoutForm
from .person_out import PersonOut
from .post_in import PostIn
from .post_out import PostOut
from .post_page import PostPage
from .post_with_author_out import PostWithAuthorOut
from .principal_out import PrincipalOut
from .problem import Problem
from .problem_error import ProblemError
from .readiness_out import ReadinessOut
from .readiness_out_checks import ReadinessOutChecks
from .registration_in import RegistrationIn
from .todo_change import TodoChange
from .todo_in import TodoIn
from .todo_out import TodoOut
from .todo_page import TodoPage
from .token_form import TokenForm
from .token_form_grant_type import TokenFormGrantType
from .token_out import TokenOut
from .transfer_in import TransferIn
from .transfer_out import TransferOut
from .transfer_page import TransferPage
from .user_in import UserIn
from .user_out import UserOut
from .user_page import UserPage

__all__ = (
    "AccountIn",
    "AccountOut",
    "AuthorOut",
    "Health",
    "JsonWebKey",
    "JsonWebKeySet",
    "LogoutForm",
    "PersonOut",
    "PostIn",
    "PostOut",
    "PostPage",
    "PostWithAuthorOut",
    "PrincipalOut",
    "Problem",
    "ProblemError",
    "ReadinessOut",
    "ReadinessOutChecks",
    "RegistrationIn",
    "TodoChange",
    "TodoIn",
    "TodoOut",
    "TodoPage",
    "TokenForm",
    "TokenFormGrantType",
    "TokenOut",
    "TransferIn",
    "TransferOut",
    "TransferPage",
    "UserIn",
    "UserOut",
    "UserPage",
)
